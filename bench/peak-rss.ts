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

/**
 * The peak RSS of this process from now on, sampled every `everyMs` (for a member that runs in
 * the bench's own process): `peakMb()` reads it, `stop()` ends the sampling.
 */
export function sampleRss(everyMs: number): { peakMb(): number; stop(): void } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  return { peakMb: () => peak / 2 ** 20, stop: () => clearInterval(timer) };
}
