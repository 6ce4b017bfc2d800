import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateChain } from '../../pki/chain';
import { webcrypto, x509 } from '../../pki/crypto';
import { findDeviceByCredential } from '../../registry/devices';
import { mqttBasicLookupKey, sha256Hex } from '../../registry/secrets';
import { createDeviceCert, createRootCa } from '../support/device-pki';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import { countRows, dialects } from '../support/registry';

type Answer = {
  status: string;
  credentialsType?: string;
  credentialsValue?: unknown;
  deviceId?: string;
  errorMsg?: string;
  errorCode?: string;
};

describe.each(dialects)('key/secret provisioning over HTTP on %s', (dialect) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform(dialect);
  });
  afterAll(async () => {
    await p?.stop();
  });

  async function profile(body: Record<string, unknown>) {
    const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/device-profiles', body);
    expect(res.status).toBe(201);
    const created = (await res.json()) as {
      profile: { id: string; provisionKey: string };
      provisionSecret: string;
    };
    return { id: created.profile.id, key: created.profile.provisionKey, secret: created.provisionSecret };
  }

  async function provision(body: unknown): Promise<{ status: number; answer: Answer }> {
    const res = await p.call(undefined, 'POST', '/api/v1/provision', body);
    return { status: res.status, answer: (await res.json()) as Answer };
  }

  it('shows the provision secret once and never again', async () => {
    const prof = await profile({ name: 'shown-once' });
    const listed = await (await p.call(p.tenantA.keys.operator, 'GET', '/api/device-profiles')).text();
    expect(listed).toContain(prof.key);
    expect(listed).not.toContain(prof.secret);
  });

  it('creates a device with a server-generated access token that authenticates it', async () => {
    const prof = await profile({ name: 'tokens' });
    const { status, answer } = await provision({
      deviceName: 'tb-1',
      provisionDeviceKey: prof.key,
      provisionDeviceSecret: prof.secret,
    });
    expect(status).toBe(200);
    expect(answer).toMatchObject({ status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN' });
    const token = answer.credentialsValue as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(await findDeviceByCredential(p.registry.db, 'ACCESS_TOKEN', sha256Hex(token))).toMatchObject({
      deviceName: 'tb-1',
      deviceId: answer.deviceId,
    });
    const device = await p.registry.db
      .selectFrom('devices')
      .selectAll()
      .where('id', '=', answer.deviceId ?? '')
      .executeTakeFirst();
    expect(device).toMatchObject({ provision_state: 'provisioned', profile_id: prof.id });
    const audit = await p.registry.db
      .selectFrom('audit_events')
      .selectAll()
      .where('device_id', '=', answer.deviceId ?? '')
      .execute();
    expect(audit.map((a) => a.type)).toEqual(['device.provisioned']);
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('takes device-supplied tokens, MQTT basic credentials and certificate hashes', async () => {
    const prof = await profile({
      name: 'all-types',
      allowedCredentialTypes: ['ACCESS_TOKEN', 'MQTT_BASIC', 'X509_CERTIFICATE'],
    });
    const auth = { provisionDeviceKey: prof.key, provisionDeviceSecret: prof.secret };
    const token = await provision({
      ...auth,
      deviceName: 'own-token',
      credentialsType: 'ACCESS_TOKEN',
      token: 'my-own-token-123',
    });
    expect(token.answer).toMatchObject({ status: 'SUCCESS', credentialsValue: 'my-own-token-123' });

    const basic = await provision({
      ...auth,
      deviceName: 'basic-1',
      credentialsType: 'MQTT_BASIC',
      clientId: 'cid-1',
      username: 'user-1',
      password: 'pw-1',
    });
    expect(basic.answer).toMatchObject({
      status: 'SUCCESS',
      credentialsType: 'MQTT_BASIC',
      credentialsValue: { clientId: 'cid-1', userName: 'user-1', password: 'pw-1' },
    });
    const stored = await p.registry.db
      .selectFrom('device_credentials')
      .selectAll()
      .where('lookup_key', '=', mqttBasicLookupKey('cid-1', 'user-1'))
      .executeTakeFirstOrThrow();
    expect(stored.secret_hash).toMatch(/^scrypt\$/);
    expect(stored.secret_hash).not.toContain('pw-1');

    const ca = await createRootCa({ name: 'CN=Device Vendor' });
    const cert = await createDeviceCert(ca, { cn: 'x509-1' });
    const x509 = await provision({
      ...auth,
      deviceName: 'x509-1',
      credentialsType: 'X509_CERTIFICATE',
      hash: cert.certPem,
    });
    expect(x509.answer).toMatchObject({ status: 'SUCCESS', credentialsType: 'X509_CERTIFICATE' });
    expect(
      await findDeviceByCredential(p.registry.db, 'X509_CERTIFICATE', cert.fingerprintSha256),
    ).toMatchObject({
      deviceName: 'x509-1',
    });
  });

  it('refuses a wrong secret with NOT_FOUND and writes nothing', async () => {
    const prof = await profile({ name: 'guarded' });
    const before = await countRows(p.registry, 'devices');
    const { answer } = await provision({
      deviceName: 'intruder',
      provisionDeviceKey: prof.key,
      provisionDeviceSecret: 'wrong',
    });
    expect(answer).toMatchObject({ status: 'NOT_FOUND', errorCode: 'PROVISION_BAD_KEY_OR_SECRET' });
    const unknownKey = await provision({
      deviceName: 'intruder',
      provisionDeviceKey: 'nope',
      provisionDeviceSecret: prof.secret,
    });
    expect(unknownKey.answer).toMatchObject({ status: 'NOT_FOUND' });
    expect(await countRows(p.registry, 'devices')).toBe(before);
  });

  it('refuses bad input clearly, without echoing the secret', async () => {
    const prof = await profile({ name: 'strict' });
    const garbage = await p.call(undefined, 'POST', '/api/v1/provision', 'not json');
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ status: 'FAILURE', errorCode: 'PROVISION_BAD_REQUEST' });
    const bad = await provision({
      deviceName: 'a/#',
      provisionDeviceKey: prof.key,
      provisionDeviceSecret: prof.secret,
    });
    expect(bad.answer).toMatchObject({ status: 'FAILURE', errorCode: 'PROVISION_BAD_REQUEST' });
    expect(JSON.stringify(bad.answer)).not.toContain(prof.secret);
    const huge = await provision({
      deviceName: 'x'.repeat(300),
      provisionDeviceKey: prof.key,
      provisionDeviceSecret: prof.secret,
    });
    expect(huge.answer.errorCode).toBe('PROVISION_BAD_REQUEST');
    const type = await provision({
      deviceName: 'y',
      provisionDeviceKey: prof.key,
      provisionDeviceSecret: prof.secret,
      credentialsType: 'MQTT_BASIC',
      username: 'u',
    });
    expect(type.answer).toMatchObject({
      status: 'FAILURE',
      errorCode: 'PROVISION_CREDENTIAL_TYPE_NOT_ALLOWED',
    });
  });

  it('refuses a name another device holds, and a second provision unless re-provisioning is allowed', async () => {
    await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'operator-made' });
    const prof = await profile({ name: 'no-reprov' });
    const auth = { provisionDeviceKey: prof.key, provisionDeviceSecret: prof.secret };
    expect((await provision({ ...auth, deviceName: 'operator-made' })).answer).toMatchObject({
      status: 'FAILURE',
      errorCode: 'PROVISION_DEVICE_EXISTS',
    });
    expect((await provision({ ...auth, deviceName: 'once' })).answer.status).toBe('SUCCESS');
    expect((await provision({ ...auth, deviceName: 'once' })).answer).toMatchObject({
      status: 'FAILURE',
      errorCode: 'PROVISION_ALREADY_PROVISIONED',
    });

    const reset = await profile({ name: 'factory-reset', allowReprovision: true });
    const rAuth = { provisionDeviceKey: reset.key, provisionDeviceSecret: reset.secret };
    const first = await provision({ ...rAuth, deviceName: 'resettable' });
    const second = await provision({ ...rAuth, deviceName: 'resettable' });
    expect(second.answer).toMatchObject({ status: 'SUCCESS', deviceId: first.answer.deviceId });
    const oldToken = first.answer.credentialsValue as string;
    expect(await findDeviceByCredential(p.registry.db, 'ACCESS_TOKEN', sha256Hex(oldToken))).toBeUndefined();
    expect(
      await findDeviceByCredential(
        p.registry.db,
        'ACCESS_TOKEN',
        sha256Hex(second.answer.credentialsValue as string),
      ),
    ).toBeDefined();
  });

  it('provisions only pre-provisioned devices under check-pre-provisioned', async () => {
    const prof = await profile({ name: 'pre', strategy: 'CHECK_PRE_PROVISIONED_DEVICES' });
    const auth = { provisionDeviceKey: prof.key, provisionDeviceSecret: prof.secret };
    expect((await provision({ ...auth, deviceName: 'unknown-one' })).answer).toMatchObject({
      status: 'NOT_FOUND',
      errorCode: 'PROVISION_NOT_PRE_PROVISIONED',
    });
    const made = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', {
      name: 'known-one',
      profileId: prof.id,
    });
    const deviceId = ((await made.json()) as { device: { id: string } }).device.id;
    expect((await provision({ ...auth, deviceName: 'known-one' })).answer).toMatchObject({
      status: 'SUCCESS',
      deviceId,
    });
    const history = (await (
      await p.call(p.tenantA.keys.auditor, 'GET', `/api/devices/${deviceId}/history`)
    ).json()) as {
      auditEvents: { type: string }[];
    };
    expect(history.auditEvents.map((e) => e.type)).toEqual(['device.created', 'device.provisioned']);
  });

  it('rate-limits per profile and stops old secrets after rotation', async () => {
    const prof = await profile({ name: 'slow', ratePerMinute: 1 });
    const auth = { provisionDeviceKey: prof.key, provisionDeviceSecret: prof.secret };
    expect((await provision({ ...auth, deviceName: 'slow-1' })).answer.status).toBe('SUCCESS');
    const limited = await provision({ ...auth, deviceName: 'slow-2' });
    expect(limited).toMatchObject({ status: 429, answer: { errorCode: 'PROVISION_RATE_LIMITED' } });

    const rot = await profile({ name: 'rotating' });
    const res = await p.call(p.tenantA.keys.operator, 'POST', `/api/device-profiles/${rot.id}/rotate-secret`);
    const { provisionSecret } = (await res.json()) as { provisionSecret: string };
    expect(
      (await provision({ deviceName: 'r1', provisionDeviceKey: rot.key, provisionDeviceSecret: rot.secret }))
        .answer.status,
    ).toBe('NOT_FOUND');
    expect(
      (
        await provision({
          deviceName: 'r1',
          provisionDeviceKey: rot.key,
          provisionDeviceSecret: provisionSecret,
        })
      ).answer.status,
    ).toBe('SUCCESS');
  });

  it('imports devices from CSV with a result per row', async () => {
    await profile({ name: 'csv-profile', strategy: 'CHECK_PRE_PROVISIONED_DEVICES' });
    await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'csv-taken' });
    const csv =
      'name,type,label\ncsv-1,csv-profile,"Hall, north"\ncsv-taken,,\nbad/name,,\ncsv-2,no-such-profile,\ncsv-3,,\n';
    const res = await p.app.request('/api/devices/import', {
      method: 'POST',
      headers: { authorization: `Bearer ${p.tenantA.keys.operator}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      created: number;
      failed: number;
      rows: { row: number; status: string; error?: { code: string } }[];
    };
    expect(body.rows.map((r) => [r.row, r.status, r.error?.code])).toEqual([
      [2, 'created', undefined],
      [3, 'failed', 'DEVICE_NAME_TAKEN'],
      [4, 'failed', 'VALIDATION_FAILED'],
      [5, 'failed', 'REFERENCE_NOT_FOUND'],
      [6, 'created', undefined],
    ]);
    const row = await p.registry.db
      .selectFrom('devices')
      .selectAll()
      .where('name', '=', 'csv-1')
      .executeTakeFirstOrThrow();
    expect(row.label).toBe('Hall, north');
    expect(row.provision_state).toBe('pre-provisioned');
  });
});

describe('key/secret provisioning with a CSR', () => {
  let p: TestPlatform;
  let caPem: string;
  let prof: { id: string; key: string; secret: string };
  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    const ca = await p.call(p.tenantA.keys.operator, 'POST', '/api/issuing-cas', {
      name: 'device-issuing',
      generate: { validityDays: 3650 },
    });
    expect(ca.status).toBe(201);
    const body = (await ca.json()) as { id: string; certificatePem: string };
    caPem = body.certificatePem;
    const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/device-profiles', {
      name: 'csr-profile',
      allowedCredentialTypes: ['CSR'],
      issuingCaId: body.id,
    });
    const created = (await res.json()) as {
      profile: { id: string; provisionKey: string };
      provisionSecret: string;
    };
    prof = { id: created.profile.id, key: created.profile.provisionKey, secret: created.provisionSecret };
  });
  afterAll(async () => {
    await p?.stop();
  });

  async function csrFor(cn: string): Promise<string> {
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${cn}`,
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    return csr.toString('pem');
  }

  it('signs the device’s CSR with the profile’s issuing CA; names come from the registry', async () => {
    const res = await p.call(undefined, 'POST', '/api/v1/provision', {
      deviceName: 'csr-device-1',
      provisionDeviceKey: prof.key,
      provisionDeviceSecret: prof.secret,
      credentialsType: 'CSR',
      csr: await csrFor('attacker-chosen-name'),
    });
    const answer = (await res.json()) as Answer;
    expect(answer).toMatchObject({ status: 'SUCCESS', credentialsType: 'X509_CERTIFICATE' });
    const chainPem = answer.credentialsValue as string;
    const leafPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)?.[0] ?? '';
    const leaf = new X509Certificate(leafPem);
    expect(leaf.subject).toBe('CN=csr-device-1');
    expect(leaf.ca).toBe(false);
    const validated = validateChain({
      leaf: leafPem,
      trustAnchors: [caPem],
      now: new Date(),
      policy: { requiredEku: ['1.3.6.1.5.5.7.3.2'], endEntityOnly: true },
    });
    expect(validated.ok).toBe(true);
    const fingerprint = leaf.fingerprint256.replace(/:/g, '').toLowerCase();
    expect(await findDeviceByCredential(p.registry.db, 'X509_CERTIFICATE', fingerprint)).toMatchObject({
      deviceName: 'csr-device-1',
      deviceId: answer.deviceId,
    });
    const stored = await p.registry.db.selectFrom('issuing_cas').select('encrypted_private_key').execute();
    expect(JSON.stringify(stored)).not.toContain('PRIVATE KEY');
  });

  it('refuses a broken CSR, and CSRs on profiles without an issuing CA', async () => {
    const garbage = await p.call(undefined, 'POST', '/api/v1/provision', {
      deviceName: 'csr-bad',
      provisionDeviceKey: prof.key,
      provisionDeviceSecret: prof.secret,
      credentialsType: 'CSR',
      csr: 'not a csr',
    });
    expect(await garbage.json()).toMatchObject({ status: 'FAILURE', errorCode: 'PROVISION_CSR_INVALID' });
    const noCa = await p.call(p.tenantA.keys.operator, 'POST', '/api/device-profiles', {
      name: 'csr-no-ca',
      allowedCredentialTypes: ['CSR'],
    });
    const np = (await noCa.json()) as { profile: { provisionKey: string }; provisionSecret: string };
    const res = await p.call(undefined, 'POST', '/api/v1/provision', {
      deviceName: 'csr-orphan',
      provisionDeviceKey: np.profile.provisionKey,
      provisionDeviceSecret: np.provisionSecret,
      credentialsType: 'CSR',
      csr: await csrFor('x'),
    });
    expect(await res.json()).toMatchObject({ status: 'FAILURE', errorCode: 'PROVISION_NO_ISSUING_CA' });
  });
});
