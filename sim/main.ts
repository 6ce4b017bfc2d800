import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { assignBehaviours, type BehaviourSpec } from './behaviours';
import { createManufacturerCa } from './credentials';
import { createSimulatedFleet, formatSummary } from './fleet';
import { createIssuingCa, httpOperatorApi, registerManufacturerCa } from './operator-api';

/*
 * `npm run sim -- --api-key KEY --count 50 [--offline N] [--never-confirm N] [--slow N --slow-ms MS]`
 *
 * Plays a fleet against a running certflow (`npm start`): registers a fresh manufacturer CA for
 * JITP, creates an issuing CA for rotations, connects every online device (each is provisioned on
 * its first connect), then answers rotation requests until Ctrl-C, printing a status line.
 * Private keys live only in this process's memory.
 */

const count = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
};

interface Options {
  api: string;
  apiKey?: string;
  mqtts: string;
  ca: string;
  count: number;
  prefix?: string;
  offline: number;
  neverConfirm: number;
  slow: number;
  slowMs: number;
  badCsr: number;
  concurrency: number;
  validityDays: number;
  issuingCa?: string;
  statusEvery: number;
}

const program = new Command('sim')
  .description('certflow device simulator: N devices over MQTT/TLS following the rotation protocol')
  .option('--api <url>', 'operator API base URL', process.env.CERTFLOW_API_URL ?? 'http://localhost:8080')
  .option('--api-key <key>', 'operator or admin API key (or CERTFLOW_API_KEY)')
  .option('--mqtts <url>', 'MQTT over TLS URL of the edge', 'mqtts://localhost:8883')
  .option('--ca <file>', "PEM file of the edge's server CA", 'data/tls/ca.pem')
  .option('--count <n>', 'devices to simulate', count, 10)
  .option('--prefix <name>', 'device name prefix (default sim-<random>)')
  .option('--offline <n>', 'devices that stay offline', count, 0)
  .option('--never-confirm <n>', 'devices that take the new certificate but never use it', count, 0)
  .option('--slow <n>', 'devices that answer rotation requests late', count, 0)
  .option('--slow-ms <ms>', 'delay of the slow devices', count, 5_000)
  .option('--bad-csr <n>', 'devices that send an invalid CSR first', count, 0)
  .option('--concurrency <n>', 'devices connecting at once', count, 50)
  .option('--validity-days <n>', 'validity of the factory certificates', count, 365)
  .option('--issuing-ca <id>', 'use this issuing CA instead of creating one')
  .option('--status-every <seconds>', 'status line interval', count, 5);

async function main(): Promise<void> {
  const o = program.parse().opts<Options>();
  const apiKey = o.apiKey ?? process.env.CERTFLOW_API_KEY;
  if (!apiKey) throw new Error('no API key: pass --api-key or set CERTFLOW_API_KEY');
  const prefix = o.prefix ?? `sim-${randomBytes(3).toString('hex')}`;
  const behaviours: BehaviourSpec = {
    offline: o.offline,
    neverConfirm: o.neverConfirm,
    slow: { count: o.slow, delayMs: o.slowMs },
    badCsr: o.badCsr,
  };
  assignBehaviours(o.count, behaviours); // refuse a bad mix before registering anything
  const call = httpOperatorApi(o.api, apiKey);
  const serverCaPem = readFileSync(o.ca, 'utf8');

  const manufacturer = await createManufacturerCa(`${prefix} manufacturer CA`);
  const ca = await registerManufacturerCa(call, manufacturer, { enabled: true, tags: ['sim', prefix] });
  const issuingCaId = o.issuingCa ?? (await createIssuingCa(call, `${prefix} rotation CA`)).id;
  console.log(`Manufacturer CA ${ca.id} registered (JITP on, devices tagged "sim" and "${prefix}")`);
  console.log(`Issuing CA for rotations: ${issuingCaId}`);
  console.log(`  e.g. certflow rotation start --tag ${prefix} --issuing-ca ${issuingCaId} --watch`);

  const t0 = Date.now();
  const fleet = await createSimulatedFleet({
    mqttsUrl: o.mqtts,
    serverCaPem,
    manufacturer,
    count: o.count,
    namePrefix: prefix,
    connectConcurrency: o.concurrency,
    validityDays: o.validityDays,
    behaviours,
  });
  console.log(`Issued ${o.count} factory certificates in ${Date.now() - t0} ms; connecting…`);
  console.log(formatSummary(await fleet.connectAll()));

  let last = '';
  const timer = setInterval(() => {
    const line = formatSummary(fleet.summary());
    if (line !== last) console.log(`${new Date().toISOString()} ${line}`);
    last = line;
  }, o.statusEvery * 1000);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  console.log('stopping…');
  await fleet.stop();
  console.log(formatSummary(fleet.summary()));
}

main().catch((err: unknown) => {
  console.error(`sim: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
