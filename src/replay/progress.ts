/** Progress of long work over a byte total, with the events processed so far. */
export interface EventProgress {
  update(bytes: number, total: number, events: number): void;
  done(): void;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (s: number) =>
  !Number.isFinite(s)
    ? '?'
    : s >= 3600
      ? `${(s / 3600).toFixed(1)}h`
      : s >= 60
        ? `${(s / 60).toFixed(1)}m`
        : `${s.toFixed(0)}s`;

/**
 * Progress on stderr: on a terminal, a bar redrawn in place with events/s and ETA; otherwise a
 * plain line every `intervalMs` (and one at the end), so a job's log shows where it got to.
 *
 * @example
 * const p = eventProgress('replay', process.stderr.isTTY);
 * p.update(1 << 20, 8 << 20, 4096);  // "replay [####....]  12% 4,096 events 2,048 events/s eta 7s"
 * p.done();
 */
export function eventProgress(label: string, tty: boolean, intervalMs = 2000): EventProgress {
  const started = performance.now();
  let firstEvents: number | null = null;
  let last = { bytes: 0, total: 0, events: 0 };
  let printed = Number.NEGATIVE_INFINITY;
  const text = () => {
    const s = (performance.now() - started) / 1000;
    const frac = last.total > 0 ? Math.min(1, last.bytes / last.total) : 0;
    const rate = s > 0 ? (last.events - (firstEvents ?? 0)) / s : 0;
    const eta = frac > 0 ? (s / frac) * (1 - frac) : Number.POSITIVE_INFINITY;
    const tail = `${(frac * 100).toFixed(0).padStart(3)}% ${fmt(last.events)} events ${fmt(rate)} events/s eta ${secs(eta)}`;
    if (!tty) return `${label}: ${tail.trimStart()}\n`;
    const width = 30;
    const filled = Math.round(frac * width);
    return `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}\x1b[K`;
  };
  return {
    update(bytes, total, events) {
      firstEvents ??= events;
      last = { bytes, total, events };
      const t = performance.now();
      if (t - printed >= (tty ? 200 : intervalMs)) {
        printed = t;
        process.stderr.write(text());
      }
    },
    done() {
      if (last.total === 0) return;
      process.stderr.write(text());
      if (tty) process.stderr.write('\n');
    },
  };
}
