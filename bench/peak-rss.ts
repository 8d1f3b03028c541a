/**
 * Preloaded into a benchmarked process (`node --import dist/bench/peak-rss.js …`): when the
 * process exits, writes its peak resident set size (`process.resourceUsage().maxRSS`, KiB; the
 * main thread and its worker threads together) to the file named by `FEATURESTREAM_BENCH_RSS_FILE`.
 * It measures any build of the CLI the same way (the baseline's included), without its help.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.FEATURESTREAM_BENCH_RSS_FILE;
if (file !== undefined && file !== '') {
  process.on('exit', () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS));
  });
}
