// `npm run temporal:install`: finds the Temporal CLI or installs the pinned one into .temporal/.
import { resolve } from 'node:path';
import { ensureTemporalCli } from '../runtime/temporal-cli';

ensureTemporalCli(
  {
    explicit: process.env.TEMPORAL_CLI || undefined,
    projectRoot: resolve(__dirname, '..'),
    path: process.env.PATH,
  },
  (msg) => console.log(msg),
).then(
  (cli) => console.log(`Temporal CLI: ${cli}`),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
