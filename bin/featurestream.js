#!/usr/bin/env node
// The bundled CLI when the build made it (dist/bundle: fewer files to load at start), else the
// compiled modules. `--version` / `-V` alone print the package's version without loading either.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  console.log(pkg.version);
} else {
  const bundled = new URL('../dist/bundle/cli.js', import.meta.url);
  await import(existsSync(bundled) ? bundled.href : '../dist/src/cli/index.js');
}
