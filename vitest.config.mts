import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure and fast (no Temporal, no database server); `integration` runs
// against one real Temporal dev server started by the global setup, real SQLite, real
// PostgreSQL and the real MQTT broker.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'node_modules/**'],
          testTimeout: 120_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores: run integration files two at a time at most.
          maxWorkers: 2,
          fileParallelism: true,
          // After the unit tests, so a broken unit fails fast and the two never compete for cores.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
