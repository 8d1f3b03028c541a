import cliProgress from 'cli-progress';

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
 * Progress on stderr: a cli-progress bar with events/s and ETA on a terminal; otherwise a plain
 * line every `intervalMs` (and one at the end), so logs of a job show where it got to.
 *
 * @example
 * const p = eventProgress('replay', process.stderr.isTTY);
 * p.update(1 << 20, 8 << 20, 4096);  // "replay  12%  4,096 events  2,048 events/s  eta 7s"
 * p.done();
 */
export function eventProgress(label: string, tty: boolean, intervalMs = 2000): EventProgress {
  const started = performance.now();
  let firstEvents: number | null = null;
  let last = { bytes: 0, total: 0, events: 0 };
  const rate = () => {
    const s = (performance.now() - started) / 1000;
    return s > 0 ? (last.events - (firstEvents ?? 0)) / s : 0;
  };
  const eta = () => {
    const s = (performance.now() - started) / 1000;
    const frac = last.total > 0 ? Math.min(1, last.bytes / last.total) : 0;
    return frac > 0 ? (s / frac) * (1 - frac) : Number.POSITIVE_INFINITY;
  };
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {events} events | {rate} events/s | eta {etaText}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
    let started_ = false;
    return {
      update(bytes, total, events) {
        firstEvents ??= events;
        last = { bytes, total, events };
        const payload = { events: fmt(events), rate: fmt(rate()), etaText: secs(eta()) };
        if (!started_) {
          bar.start(Math.max(total, 1), Math.min(bytes, total), payload);
          started_ = true;
        } else {
          bar.setTotal(Math.max(total, 1));
          bar.update(Math.min(bytes, total), payload);
        }
      },
      done() {
        if (started_) bar.stop();
      },
    };
  }
  let printed = 0;
  const line = () => {
    const pct = last.total > 0 ? Math.min(100, (100 * last.bytes) / last.total) : 0;
    process.stderr.write(
      `${label}: ${pct.toFixed(0)}% ${fmt(last.events)} events ${fmt(rate())} events/s eta ${secs(eta())}\n`,
    );
  };
  return {
    update(bytes, total, events) {
      firstEvents ??= events;
      last = { bytes, total, events };
      const t = performance.now();
      if (t - printed >= intervalMs) {
        printed = t;
        line();
      }
    },
    done() {
      if (last.total > 0) line();
    },
  };
}
