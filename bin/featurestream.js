#!/usr/bin/env node
// The bundled CLI when the build made it (dist/bundle: fewer files to load at start), else the
// compiled modules.
import { existsSync } from 'node:fs';

const bundled = new URL('../dist/bundle/cli.js', import.meta.url);
await import(existsSync(bundled) ? bundled.href : '../dist/src/cli/index.js');
