import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureServerIdentity } from '../../pki/server-identity';

describe('server TLS identity', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-id-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const now = new Date('2026-01-01T00:00:00Z');

  it('creates a CA and a server certificate for the names, signed by it', async () => {
    const id = await ensureServerIdentity(dir, ['mqtt.example', '127.0.0.1'], now);
    const ca = new X509Certificate(id.caPem);
    const server = new X509Certificate(id.certPem);
    expect(ca.ca).toBe(true);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toContain('DNS:mqtt.example');
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
  });

  it('keeps both on the next start, and re-issues only the server certificate for a new name', async () => {
    const first = await ensureServerIdentity(dir, ['mqtt.example', '127.0.0.1'], now);
    const same = await ensureServerIdentity(dir, ['mqtt.example'], now);
    expect(same.certPem).toBe(first.certPem);
    const renamed = await ensureServerIdentity(dir, ['other.example'], now);
    expect(renamed.caPem).toBe(first.caPem);
    expect(renamed.certPem).not.toBe(first.certPem);
    expect(readFileSync(join(dir, 'server-key.pem'), 'utf8')).toContain('PRIVATE KEY');
  });

  it('re-issues the server certificate as it nears expiry', async () => {
    const before = await ensureServerIdentity(dir, ['other.example'], now);
    const later = new Date(now.getTime() + 380 * 86_400_000);
    const after = await ensureServerIdentity(dir, ['other.example'], later);
    expect(after.certPem).not.toBe(before.certPem);
  });
});
