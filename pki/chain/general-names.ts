import { TAG, children, content, readRoot, type Tlv } from './der';
import { ChainError } from './errors';

/** A GeneralName (RFC 5280 4.2.1.6) reduced to what name constraints compare. */
export type GeneralName =
  | { kind: 'dns' | 'email' | 'uri'; value: string }
  | { kind: 'ip'; value: Uint8Array }
  | { kind: 'dn'; value: Uint8Array }
  | { kind: 'other'; tag: number };

function ia5(buf: Uint8Array, tlv: Tlv, what: string): string {
  const bytes = content(buf, tlv);
  for (const b of bytes)
    if (b > 0x7e || b < 0x20) throw new ChainError('CHAIN_INVALID_EXTENSION', `${what} is not IA5`);
  return Buffer.from(bytes).toString('latin1');
}

export function decodeGeneralName(buf: Uint8Array, tlv: Tlv): GeneralName {
  switch (tlv.tag) {
    case 0x81:
      return { kind: 'email', value: ia5(buf, tlv, 'rfc822Name') };
    case 0x82:
      return { kind: 'dns', value: ia5(buf, tlv, 'dNSName') };
    case 0x86:
      return { kind: 'uri', value: ia5(buf, tlv, 'uniformResourceIdentifier') };
    case 0x87:
      return { kind: 'ip', value: content(buf, tlv) };
    case 0xa4: {
      const [name, extra] = children(buf, tlv);
      if (!name || extra || name.tag !== TAG.SEQUENCE)
        throw new ChainError('CHAIN_INVALID_EXTENSION', 'directoryName');
      return { kind: 'dn', value: buf.subarray(name.start, name.end) };
    }
    default:
      return { kind: 'other', tag: tlv.tag };
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName. */
export function decodeGeneralNames(value: Uint8Array): GeneralName[] {
  const root = readRoot(value);
  if (root.tag !== TAG.SEQUENCE)
    throw new ChainError('CHAIN_INVALID_EXTENSION', 'GeneralNames is not a SEQUENCE');
  const names = children(value, root).map((tlv) => decodeGeneralName(value, tlv));
  if (names.length === 0) throw new ChainError('CHAIN_INVALID_EXTENSION', 'empty GeneralNames');
  return names;
}
