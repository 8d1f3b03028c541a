/**
 * A one-line progress bar on stderr for long work (runs, replays, backfills), drawn only when
 * stderr is a terminal.
 *
 * @example
 * const bar = progressBar('reading');
 * bar.update(512, 1024);
 * bar.done();
 */
export function progressBar(label: string): {
  update: (done: number, total: number) => void;
  done: () => void;
} {
  const started = performance.now();
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return {
    update(done, total) {
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const width = 30;
      const filled = Math.round(frac * width);
      const secs = (performance.now() - started) / 1000;
      const eta = frac > 0 ? (secs / frac) * (1 - frac) : 0;
      process.stderr.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
          `${mb(done)}/${mb(total)} MB  eta ${eta.toFixed(0)}s `,
      );
    },
    done() {
      process.stderr.write('\n');
    },
  };
}
