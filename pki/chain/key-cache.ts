import { createPublicKey, type KeyObject } from 'node:crypto';

/**
 * A bounded, least-recently-used cache of decoded public keys, keyed by SPKI DER. Decoding an EC
 * key costs ~140 µs, more than verifying with it, and issuing CAs repeat across validations, so a
 * long-lived caller (one per worker) may share one cache across calls. KeyObjects are immutable,
 * so sharing is safe; the cache holds only public keys. Without one, each call decodes afresh.
 */
export class PublicKeyCache {
  private readonly entries = new Map<string, KeyObject>();

  constructor(private readonly maxEntries = 1024) {}

  /** The KeyObject for `spki`; throws when the key cannot be decoded (never cached). */
  get(spki: Uint8Array): KeyObject {
    const id = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('latin1');
    let key = this.entries.get(id);
    if (key) {
      this.entries.delete(id);
    } else {
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(id, key);
    return key;
  }
}
