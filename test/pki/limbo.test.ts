import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { validateChain, type ChainPolicy } from '../../pki/chain';
import skips from './limbo-skips.json';

/**
 * x509-limbo conformance (shared/conformance/README.md). Every case not listed in
 * limbo-skips.json is run with the policy the case itself states, and each family asserts zero
 * non-conformant cases, naming every mismatch by id and error code.
 */
interface LimboCase {
  id: string;
  validation_kind: 'SERVER' | 'CLIENT';
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  extended_key_usage: string[];
  expected_result: 'SUCCESS' | 'FAILURE';
  expected_peer_name: { kind: 'DNS' | 'IP' | 'RFC822'; value: string } | null;
  max_chain_depth: number | null;
  crls: string[];
}

const LIMBO = path.resolve(__dirname, '../../../shared/conformance/x509-limbo.json.gz');

const EKU_OIDS: Record<string, string> = {
  anyExtendedKeyUsage: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
};

/** Families as the conformance README groups them; the first matching row wins. */
const FAMILIES: { name: string; tier: 'must-pass' | 'optional' | 'other'; match: (id: string) => boolean }[] =
  [
    { name: 'rfc5280::nc', tier: 'optional', match: (id) => id.startsWith('rfc5280::nc::') },
    { name: 'rfc5280::san', tier: 'other', match: (id) => id.startsWith('rfc5280::san::') },
    { name: 'rfc5280', tier: 'must-pass', match: (id) => id.startsWith('rfc5280::') },
    { name: 'pathlen', tier: 'must-pass', match: (id) => id.startsWith('pathlen::') },
    { name: 'invalid', tier: 'must-pass', match: (id) => id.startsWith('invalid::') },
    { name: 'cve::cve-2024-0567', tier: 'must-pass', match: (id) => id === 'cve::cve-2024-0567' },
    { name: 'cve (name constraints)', tier: 'optional', match: (id) => id.startsWith('cve::') },
    {
      name: 'bettertls::pathbuilding',
      tier: 'must-pass',
      match: (id) => id.startsWith('bettertls::pathbuilding::'),
    },
    { name: 'crl', tier: 'must-pass', match: (id) => id.startsWith('crl::') },
    { name: 'pathological', tier: 'must-pass', match: (id) => id.startsWith('pathological::') },
    {
      name: 'webpki (forbidden-*, explicit-curve, v1-cert)',
      tier: 'must-pass',
      match: (id) => /^webpki::(forbidden-|explicit-curve$|v1-cert$)/.test(id),
    },
    { name: 'webpki::nc', tier: 'optional', match: (id) => id.startsWith('webpki::nc::') },
    {
      name: 'bettertls::nameconstraints',
      tier: 'optional',
      match: (id) => id.startsWith('bettertls::nameconstraints::'),
    },
    { name: 'webpki (other)', tier: 'other', match: (id) => id.startsWith('webpki::') },
    { name: 'online', tier: 'other', match: (id) => id.startsWith('online::') },
  ];

function familyOf(id: string): string {
  return FAMILIES.find((f) => f.match(id))?.name ?? id.split('::')[0]!;
}

function skipReason(id: string): string | undefined {
  return (
    skips.cases.find((c) => c.id === id)?.reason ??
    skips.families.find((f) => id.startsWith(f.prefix))?.reason
  );
}

function policyFor(c: LimboCase): ChainPolicy {
  // An empty EKU list means "the usage implied by the validation kind" (README: SERVER cases expect serverAuth).
  const ekus =
    c.extended_key_usage.length > 0
      ? c.extended_key_usage
      : [c.validation_kind === 'SERVER' ? 'serverAuth' : 'clientAuth'];
  return {
    requiredEku: ekus.map((e) => EKU_OIDS[e] ?? e),
    ...(c.max_chain_depth !== null ? { maxDepth: c.max_chain_depth } : {}),
    crls: c.crls,
    endEntityOnly: skips.endEntityOnlyFamilies.some((f) => c.id.startsWith(f.prefix)),
  };
}

/** Hostname/IP verification for the families whose expectations include it; certflow itself has none. */
function peerNameMatches(c: LimboCase): boolean {
  const peer = c.expected_peer_name;
  if (!peer || !skips.peerNameFamilies.some((f) => c.id.startsWith(f.prefix))) return true;
  const cert = new X509Certificate(c.peer_certificate);
  if (peer.kind === 'DNS') return cert.checkHost(peer.value, { subject: 'never' }) !== undefined;
  if (peer.kind === 'IP') return cert.checkIP(peer.value) !== undefined;
  return cert.checkEmail(peer.value, { subject: 'never' }) !== undefined;
}

interface Outcome {
  id: string;
  family: string;
  ok: boolean;
  conformant: boolean;
  code: string;
  ms: number;
}

function run(c: LimboCase): Outcome {
  const started = performance.now();
  const result = validateChain({
    leaf: c.peer_certificate,
    intermediates: c.untrusted_intermediates,
    trustAnchors: c.trusted_certs,
    // A case without a validation time is valid "now"; its certificates span 1970-2969.
    now: c.validation_time ? new Date(c.validation_time) : new Date(),
    policy: policyFor(c),
  });
  const ms = performance.now() - started;
  const ok = result.ok && peerNameMatches(c);
  const code = result.ok ? (ok ? 'ok' : 'ok (peer name mismatch)') : `${result.code}: ${result.detail}`;
  return {
    id: c.id,
    family: familyOf(c.id),
    ok,
    conformant: ok === (c.expected_result === 'SUCCESS'),
    code,
    ms,
  };
}

const suite = JSON.parse(gunzipSync(readFileSync(LIMBO)).toString('utf8')) as { testcases: LimboCase[] };
const skipped = suite.testcases.filter((c) => skipReason(c.id) !== undefined);
const outcomes = suite.testcases.filter((c) => skipReason(c.id) === undefined).map(run);

describe('x509-limbo conformance', () => {
  afterAll(() => {
    const rows = FAMILIES.map(({ name, tier }) => {
      const mine = outcomes.filter((o) => o.family === name);
      return {
        family: name,
        tier,
        pass: mine.filter((o) => o.conformant).length,
        fail: mine.filter((o) => !o.conformant).length,
        skipped: skipped.filter((c) => familyOf(c.id) === name).length,
        maxMs: Number(Math.max(0, ...mine.map((o) => o.ms)).toFixed(1)),
      };
    });
    console.table(rows);
    const slowest = outcomes
      .filter((o) => o.family === 'pathological')
      .map((o) => `${o.id} ${o.ms.toFixed(1)} ms`);
    console.log(`pathological timings:\n  ${slowest.join('\n  ')}`);
  });

  it('lists a reason for every skipped case', () => {
    expect(skipped.filter((c) => !skipReason(c.id)?.trim())).toEqual([]);
    expect(skipped.length + outcomes.length).toBe(suite.testcases.length);
  });

  for (const family of FAMILIES) {
    it(`${family.name} (${family.tier}) has no non-conformant case`, () => {
      const mismatches = outcomes
        .filter((o) => o.family === family.name && !o.conformant)
        .map((o) => `${o.id} -> ${o.code}`);
      expect(mismatches).toEqual([]);
    });
  }
});
