// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/** Node builtins and effectful libraries that must never enter the workflow sandbox. */
const forbiddenInWorkflows = [
  'fs',
  'node:*',
  'crypto',
  'net',
  'tls',
  'http',
  'https',
  'child_process',
  'os',
  'path',
  'kysely',
  'pg',
  'better-sqlite3',
  '@peculiar/*',
  'mqtt',
  'aedes',
  'hono',
  '@hono/*',
  'pino',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

module.exports = tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', '.temporal/', 'bench/results/', 'bin/', '.python-deps/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'vitest.config.mts'] },
        tsconfigRootDir: __dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts', 'bench/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbiddenInWorkflows,
              message: 'Workflows run in the deterministic sandbox: use domain/ and proxyActivities.',
            },
            {
              group: ['../activities/*', '../activities'],
              allowTypeImports: true,
              message: 'Workflows import only types from activities/.',
            },
            {
              group: ['../registry/*', '../pki/*', '../api/*', '../workers/*', '../runtime/*'],
              message: 'Workflows import only domain/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*/**', '!../domain/**', 'kysely', 'pg', 'better-sqlite3', 'mqtt', 'aedes', 'hono'],
              message: 'domain/ is pure: it imports nothing with effects.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
);
