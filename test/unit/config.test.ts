import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../workers/config';

describe('loadConfig', () => {
  it('gives embedded defaults on an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, mqttPort: 1883, mqttsPort: 8883, bootstrapTenant: 'default' });
    expect(c.registry).toEqual({
      dialect: 'sqlite',
      file: expect.stringMatching(/data\/certflow\.sqlite$/) as string,
    });
    expect(c.temporal.address).toBeUndefined();
    expect(c.temporal).toMatchObject({
      namespace: 'default',
      taskQueue: 'certflow',
      devPort: 7233,
      devUiPort: 8233,
    });
  });

  it('selects PostgreSQL from DATABASE_URL and treats empty variables as unset', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u@db:5432/reg',
      PORT: '',
      TEMPORAL_ADDRESS: 'temporal:7233',
    });
    expect(c.registry).toEqual({ dialect: 'postgres', url: 'postgres://u@db:5432/reg' });
    expect(c.port).toBe(8080);
    expect(c.temporal.address).toBe('temporal:7233');
  });

  it('fails fast naming every bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MQTTS_PORT: '70000' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MQTTS_PORT: '70000' });
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain('PORT');
      expect(msg).toContain('LOG_LEVEL');
      expect(msg).toContain('MQTTS_PORT');
    }
  });

  it('sweeps for renewal hourly and polls edge events every 500 ms unless told otherwise', () => {
    expect(loadConfig({})).toMatchObject({ renewalSweepIntervalSeconds: 3600, edgeEventPollMs: 500 });
    expect(loadConfig({ RENEWAL_SWEEP_INTERVAL_SECONDS: '0', EDGE_EVENT_POLL_MS: '50' })).toMatchObject({
      renewalSweepIntervalSeconds: 0,
      edgeEventPollMs: 50,
    });
    expect(() => loadConfig({ EDGE_EVENT_POLL_MS: '10' })).toThrow(/EDGE_EVENT_POLL_MS/);
    expect(() => loadConfig({ RENEWAL_SWEEP_INTERVAL_SECONDS: '-1' })).toThrow(
      /RENEWAL_SWEEP_INTERVAL_SECONDS/,
    );
  });

  it('refuses a database URL it cannot serve', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(
      /DATABASE_URL: unsupported database URL scheme/,
    );
  });
});
