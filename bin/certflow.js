#!/usr/bin/env node
// `certflow` executable: runs the TypeScript CLI (cli/main.ts) through tsx's CommonJS hook, so
// there is no build step. The project's tsconfig is used whatever the working directory.
'use strict';
const { join } = require('node:path');

process.env.TSX_TSCONFIG_PATH ??= join(__dirname, '..', 'tsconfig.json');
require('tsx/cjs');
require('../cli/main.ts');
