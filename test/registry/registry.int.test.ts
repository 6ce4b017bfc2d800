import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertflowError } from '../../domain/errors';
import { authenticateApiKey, createApiKey, revokeApiKey } from '../../registry/api-keys';
import { appendAuditEvent, listDeviceAuditEvents } from '../../registry/audit';
import { createCatalogItem } from '../../registry/catalog';
import type { Registry } from '../../registry/connect';
import { claimDevice, type ClaimResult } from '../../registry/claims';
import { findDeviceByCredential, insertDevice } from '../../registry/devices';
import { newId } from '../../registry/ids';
import { createProfile } from '../../registry/profiles';
import { migrateToLatest } from '../../registry/migrate';
import { sha256Hex } from '../../registry/secrets';
import { createTenantWithAdminKey, ensureBootstrapTenant } from '../../registry/tenants';
import { countRows, dialects, freshRegistry } from '../support/registry';

describe.each(dialects)('registry on %s', (dialect) => {
  let r: Registry & { dispose(): Promise<void> };
  let tenantId: string;
  beforeAll(async () => {
    r = await freshRegistry(dialect);
    tenantId = (await createTenantWithAdminKey(r.db, 'acme', 'test')).tenant.id;
  });
  afterAll(async () => {
    await r?.dispose();
  });

  it('migrates idempotently', async () => {
    expect(await migrateToLatest(r.db, r.schema)).toEqual([]);
  });

  it('bootstraps only when there is no tenant, returning the admin key once', async () => {
    const first = await ensureBootstrapTenant(r.db, 'ignored');
    expect(first.tenant.name).toBe('acme');
    expect(first.adminKey).toBeUndefined();
  });

  it('keeps the audit log append-only and writes each event key once', async () => {
    const e = { tenantId, eventKey: 'k/1', type: 'device.created' as const, actor: 'test', data: { n: 1 } };
    const a = await appendAuditEvent(r.db, e);
    const b = await appendAuditEvent(r.db, { ...e, data: { n: 2 } });
    expect(b.id).toBe(a.id);
    expect(JSON.parse(b.data)).toEqual({ n: 1 });
    await expect(r.db.updateTable('audit_events').set({ actor: 'x' }).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(r.db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM audit_events`.execute(r.db)).rejects.toThrow(/append-only/);
  });

  it('orders a device’s audit events by write order', async () => {
    const deviceId = newId();
    for (const n of [1, 2, 3]) {
      await appendAuditEvent(r.db, {
        tenantId,
        eventKey: `order/${n}`,
        type: 'device.created',
        actor: 't',
        deviceId,
      });
    }
    const events = await listDeviceAuditEvents(r.db, tenantId, deviceId);
    expect(events.map((e) => e.event_key)).toEqual(['order/1', 'order/2', 'order/3']);
  });

  it('inserts a device idempotently for its creating workflow and refuses a taken name', async () => {
    const input = {
      id: newId(),
      tenantId,
      name: 'dev-1',
      createdByWorkflow: 'wf-1',
      accessTokenHash: sha256Hex('t-1'),
    };
    const first = await insertDevice(r.db, input);
    const again = await insertDevice(r.db, input);
    expect(again).toEqual(first);
    expect(await countRows(r, 'device_credentials')).toBe(1);
    const other = insertDevice(r.db, {
      ...input,
      id: newId(),
      createdByWorkflow: 'wf-2',
      accessTokenHash: null,
    });
    await expect(other).rejects.toMatchObject({ code: 'DEVICE_NAME_TAKEN' });
  });

  it('writes nothing when the credential is taken (device and credential are one transaction)', async () => {
    const devices = await countRows(r, 'devices');
    const attempt = insertDevice(r.db, {
      id: newId(),
      tenantId,
      name: 'dev-thief',
      createdByWorkflow: 'wf-3',
      accessTokenHash: sha256Hex('t-1'),
    });
    await expect(attempt).rejects.toBeInstanceOf(CertflowError);
    await expect(attempt).rejects.toMatchObject({ code: 'CREDENTIAL_TAKEN' });
    expect(await countRows(r, 'devices')).toBe(devices);
  });

  it('writes a device and its audit event in one transaction, each once however often retried', async () => {
    const id = newId();
    const audit = {
      tenantId,
      eventKey: `device.created/${id}`,
      type: 'device.created' as const,
      actor: 'op',
      deviceId: id,
    };
    const input = { id, tenantId, name: 'dev-audited', createdByWorkflow: 'wf-a', audit };
    await insertDevice(r.db, input);
    await insertDevice(r.db, input);
    expect((await listDeviceAuditEvents(r.db, tenantId, id)).map((e) => e.event_key)).toEqual([
      `device.created/${id}`,
    ]);
    // The audit event of a device that cannot be written is not written either.
    const refused = newId();
    const taken = insertDevice(r.db, {
      id: refused,
      tenantId,
      name: 'dev-thief-2',
      createdByWorkflow: 'wf-b',
      accessTokenHash: sha256Hex('t-1'),
      audit: { ...audit, eventKey: `device.created/${refused}`, deviceId: refused },
    });
    await expect(taken).rejects.toMatchObject({ code: 'CREDENTIAL_TAKEN' });
    expect(await listDeviceAuditEvents(r.db, tenantId, refused)).toEqual([]);
    const orphan = await r.db
      .selectFrom('audit_events')
      .select('id')
      .where('event_key', '=', `device.created/${refused}`)
      .execute();
    expect(orphan).toEqual([]);
  });

  it('claims a device with its audit event in one transaction; a retried claim keeps the first', async () => {
    const created = await createProfile(r.db, tenantId, 'claims', {
      strategy: 'ALLOW_CREATE_NEW_DEVICES',
      allowedCredentialTypes: ['ACCESS_TOKEN'],
      deviceClassId: null,
      issuingCaId: null,
      allowReprovision: false,
      ratePerMinute: 60,
    });
    const profile = {
      id: created.profile.id,
      strategy: created.profile.strategy,
      allowReprovision: false,
      deviceClassId: null,
    };
    const input = {
      tenantId,
      profile,
      newDeviceId: newId(),
      deviceName: 'claimed-1',
      credential: { type: 'ACCESS_TOKEN' as const, lookupKey: sha256Hex('claim-token-1'), secretHash: null },
      runId: 'run-1',
      createdByWorkflow: 'wf-claim-1',
    };
    const audit = (claim: ClaimResult) => ({
      tenantId,
      eventKey: `device.provisioned/${claim.deviceId}/run-1`,
      type: 'device.provisioned' as const,
      actor: 'profile',
      deviceId: claim.deviceId,
      data: { created: claim.created },
    });
    const first = await claimDevice(r.db, input, audit);
    const retried = await claimDevice(r.db, input, audit);
    expect(first).toMatchObject({ deviceId: input.newDeviceId, created: true });
    expect(retried).toEqual(first);
    const events = await listDeviceAuditEvents(r.db, tenantId, input.newDeviceId);
    expect(events.map((e) => JSON.parse(e.data) as unknown)).toEqual([{ created: true }]);
  });

  it('finds a device by an active credential only', async () => {
    const found = await findDeviceByCredential(r.db, 'ACCESS_TOKEN', sha256Hex('t-1'));
    expect(found).toMatchObject({ tenantId, deviceName: 'dev-1' });
    await r.db.updateTable('device_credentials').set({ status: 'revoked' }).execute();
    expect(await findDeviceByCredential(r.db, 'ACCESS_TOKEN', sha256Hex('t-1'))).toBeUndefined();
  });

  it('scopes names per tenant: the same device name in another tenant is fine', async () => {
    const other = (await createTenantWithAdminKey(r.db, 'globex', 'test')).tenant.id;
    const dev = await insertDevice(r.db, {
      id: newId(),
      tenantId: other,
      name: 'dev-1',
      createdByWorkflow: 'wf-4',
    });
    expect(dev.tenant_id).toBe(other);
    const product = await createCatalogItem(r.db, 'products', other, { name: 'p', description: null });
    const cross = insertDevice(r.db, {
      id: newId(),
      tenantId,
      name: 'dev-x',
      productId: product.id,
      createdByWorkflow: 'wf-5',
    });
    await expect(cross).rejects.toMatchObject({ code: 'REFERENCE_NOT_FOUND' });
    await expect(
      createCatalogItem(r.db, 'products', other, { name: 'p', description: null }),
    ).rejects.toMatchObject({
      code: 'NAME_TAKEN',
    });
  });

  it('authenticates API keys by secret, in constant time, and honours revocation', async () => {
    const { apiKey, key } = await createApiKey(r.db, { tenantId, name: 'k', role: 'operator' });
    expect((await authenticateApiKey(r.db, key))?.id).toBe(apiKey.id);
    expect(await authenticateApiKey(r.db, `${key.slice(0, -1)}x`)).toBeUndefined();
    expect(await authenticateApiKey(r.db, 'cf_0000000000000000_aaaaaaaaaaaaaaaaaaaaaaaa')).toBeUndefined();
    expect(await authenticateApiKey(r.db, 'garbage')).toBeUndefined();
    const stored = await r.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', apiKey.id)
      .executeTakeFirstOrThrow();
    // The secret is everything after `cf_<id>_` (base64url may itself contain `_`).
    expect(stored.secret_hash).not.toContain(key.slice('cf_0123456789abcdef_'.length));
    await revokeApiKey(r.db, tenantId, apiKey.id);
    expect(await authenticateApiKey(r.db, key)).toBeUndefined();
  });
});
