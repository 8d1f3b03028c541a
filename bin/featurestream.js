#!/usr/bin/env node
// The bundled CLI when the build made it (dist/bundle: fewer files to load at start), else the
// compiled modules. `--version` / `-V` alone print the package's version without loading either.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  console.log(pkg.version);
} else {
  // Until a command installs its own handlers (run: 130/143 after releasing its lock; serve, ui
  // and Kafka members: a graceful stop), SIGINT/SIGTERM end the process with one line and
  // 130/143 instead of silently: loading the modules takes a while (issue 31). This handler
  // steps aside whenever another one listens for the signal.
  let loaded = false;
  const early = (signal) => {
    if (process.listenerCount(signal) > 1) return;
    process.stderr.write(
      `featurestream: interrupted by ${signal}${loaded ? '' : ' while loading; nothing was done'}\n`,
    );
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', early);
  process.on('SIGTERM', early);
  globalThis.__featurestreamLoaded = () => {
    loaded = true;
  };
  // A test hook: a slow module load (tests signal the process while it loads).
  const delay = Number(process.env.FEATURESTREAM_TEST_LOAD_DELAY_MS);
  if (delay > 0) {
    process.stderr.write(`[test hook] loading delayed by ${delay} ms\n`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  const bundled = new URL('../dist/bundle/cli.js', import.meta.url);
  const useBundle = existsSync(bundled);
  if (args[0] === 'run') {
    // A plain file run's worker pool starts now, while the CLI loads: its threads take longer to
    // start than the main thread takes to reach the job (src/cli/early-pool.ts).
    const early = useBundle ? '../dist/bundle/early-pool.js' : '../dist/src/cli/early-pool.js';
    await (await import(early)).startEarlyPool(args, process.env);
  }
  await import(useBundle ? bundled.href : '../dist/src/cli/index.js');
}
