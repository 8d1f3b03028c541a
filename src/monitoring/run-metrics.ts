import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FeatureRow } from '../../operators/operator.js';
import type { FeatureSet } from '../registry/feature-set.js';
import type { DeadLetterRecord, LateRecord, RowSink } from '../runtime/sink.js';

/** The live counters of a run the metrics read at scrape time (the coordinator's own objects). */
export type { RunObserver, RunView } from '../runtime/observer.js';
import type { RunObserver, RunView } from '../runtime/observer.js';

/**
 * The Prometheus metrics of a file run (`run --metrics-port`), units in the names, in their own
 * registry. Ingest, operator and checkpoint figures are read from the run's live counters at
 * scrape time; shard processing time and checkpoints are reported by the coordinator; sinks are
 * measured by wrapping them ({@link instrumentSinks}).
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `featurestream_events_total` | counter: events read | |
 * | `featurestream_dead_letters_total` | counter | reason |
 * | `featurestream_late_events_total` | counter | window |
 * | `featurestream_rows_total` | counter: feature rows emitted | group |
 * | `featurestream_window_firings_total` | counter: rows of windowed groups | group |
 * | `featurestream_invalid_values_total` | counter: values written as null | feature, reason |
 * | `featurestream_watermark_timestamp_seconds` | gauge: event-time clock | partition |
 * | `featurestream_watermark_lag_seconds` | gauge: wall clock − event-time clock | partition |
 * | `featurestream_source_offset_bytes` / `featurestream_source_size_bytes` | gauge | |
 * | `featurestream_shard_records_total` | counter: records processed (rate = records/s) | shard |
 * | `featurestream_shard_processing_seconds` | histogram: one batch of a shard | shard |
 * | `featurestream_state_size_bytes` | gauge: state dir on disk | |
 * | `featurestream_checkpoints_total`, `featurestream_checkpoint_failures_total` | counter | |
 * | `featurestream_checkpoint_duration_seconds` | histogram | |
 * | `featurestream_checkpoint_size_bytes` | gauge: state dir after the last checkpoint | |
 * | `featurestream_sink_write_duration_seconds` | histogram | sink |
 * | `featurestream_sink_batch_rows` | histogram | sink |
 * | `featurestream_sink_retries_total` | counter: retried store operations | sink |
 *
 * @example
 * const m = new RunMetrics({ featureSet: featureSet(topology), stateDir: '.state' });
 * await runJob({ ...opts, sinks: m.instrumentSinks(sinks), metrics: m });
 */
export class RunMetrics implements RunObserver {
  readonly registry: Registry;
  private view: RunView | null = null;
  private readonly shardRecords: Counter<'shard'>;
  private readonly shardSeconds: Histogram<'shard'>;
  private readonly checkpoints: Counter;
  private readonly checkpointFailures: Counter;
  private readonly checkpointSeconds: Histogram;
  private readonly checkpointBytes: Gauge;
  private readonly sinkSeconds: Histogram<'sink'>;
  private readonly sinkBatch: Histogram<'sink'>;
  private readonly sinkRetries: Counter<'sink'>;
  private readonly stateDir: string | null;
  /** The run topology's windowed groups (their rows count as window firings). */
  private readonly windowed: ReadonlySet<string>;

  /** `featureSet`: the run topology's features and groups. */
  constructor(options: { featureSet: FeatureSet; stateDir?: string | null; registry?: Registry }) {
    this.registry = options.registry ?? new Registry();
    this.stateDir = options.stateDir ?? null;
    this.windowed = new Set(options.featureSet.groups.filter((g) => g.window !== null).map((g) => g.group));
    const registers = [this.registry];
    const self = this;
    /** A counter mirrored from a live record of totals (only ever grows within a process). */
    const mirrored = (
      name: string,
      help: string,
      labelNames: string[],
      read: (v: RunView) => Iterable<[string[], number]>,
    ) => {
      const seen = new Map<string, number>();
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          if (self.view === null) return;
          for (const [labels, total] of read(self.view)) {
            const key = labels.join('\u0000');
            const delta = total - (seen.get(key) ?? 0);
            if (delta > 0) this.labels(...labels).inc(delta);
            seen.set(key, total);
          }
        },
      });
    };
    const entries = (r: Readonly<Record<string, number>> | undefined) =>
      Object.entries(r ?? {}).map(([k, v]) => [[k], v] as [string[], number]);
    mirrored('featurestream_events_total', 'Events read from the source', [], (v) => [
      [[], v.counters.eventsRead],
    ]);
    mirrored(
      'featurestream_dead_letters_total',
      'Malformed events sent to dead letters, by reason code',
      ['reason'],
      (v) => entries(v.counters.deadLettersByReason),
    );
    mirrored(
      'featurestream_late_events_total',
      'Events past their windows’ allowed lateness, by window',
      ['window'],
      (v) => entries(v.counters.lateByWindow),
    );
    mirrored('featurestream_rows_total', 'Feature rows emitted, by group', ['group'], (v) =>
      entries(v.counters.rowsByGroup),
    );
    mirrored(
      'featurestream_window_firings_total',
      'Window firings (rows of windowed groups), by group',
      ['group'],
      (v) => entries(v.counters.rowsByGroup).filter(([[g]]) => self.windowed.has(g!)),
    );
    mirrored(
      'featurestream_invalid_values_total',
      'Output values failing their registry rule (written as null), by feature and reason',
      ['feature', 'reason'],
      (v) =>
        Object.entries(v.counters.invalidValues ?? {}).map(([k, n]) => {
          const i = k.lastIndexOf(':');
          return [[k.slice(0, i), k.slice(i + 1)], n] as [string[], number];
        }),
    );
    new Gauge({
      name: 'featurestream_watermark_timestamp_seconds',
      help: 'Event-time clock (greatest event time seen) per source partition, as a Unix time',
      labelNames: ['partition'],
      registers,
      collect() {
        const c = self.view?.clock() ?? Number.NEGATIVE_INFINITY;
        if (Number.isFinite(c)) this.labels('0').set(c / 1000);
      },
    });
    new Gauge({
      name: 'featurestream_watermark_lag_seconds',
      help: 'Wall clock minus the event-time clock per source partition (how far behind real time)',
      labelNames: ['partition'],
      registers,
      collect() {
        const c = self.view?.clock() ?? Number.NEGATIVE_INFINITY;
        if (Number.isFinite(c)) this.labels('0').set((Date.now() - c) / 1000);
      },
    });
    new Gauge({
      name: 'featurestream_source_offset_bytes',
      help: 'Bytes of the input read so far',
      registers,
      collect() {
        if (self.view !== null) this.set(self.view.offset());
      },
    });
    new Gauge({
      name: 'featurestream_source_size_bytes',
      help: 'Size of the input file in bytes',
      registers,
      collect() {
        if (self.view !== null) this.set(self.view.totalBytes);
      },
    });
    this.shardRecords = new Counter({
      name: 'featurestream_shard_records_total',
      help: 'Records processed by each shard (rate() = records per second)',
      labelNames: ['shard'],
      registers,
    });
    this.shardSeconds = new Histogram({
      name: 'featurestream_shard_processing_seconds',
      help: 'Time for a shard to process one batch, from send to answer',
      labelNames: ['shard'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    new Gauge({
      name: 'featurestream_state_size_bytes',
      help: 'Bytes of operator state on disk (the state dir)',
      registers,
      collect() {
        if (self.stateDir !== null) this.set(dirBytes(self.stateDir));
      },
    });
    this.checkpoints = new Counter({
      name: 'featurestream_checkpoints_total',
      help: 'Checkpoints committed',
      registers,
    });
    this.checkpointFailures = new Counter({
      name: 'featurestream_checkpoint_failures_total',
      help: 'Checkpoints that failed',
      registers,
    });
    this.checkpointSeconds = new Histogram({
      name: 'featurestream_checkpoint_duration_seconds',
      help: 'Time of one checkpoint: drain, shard snapshots, sink flush, commit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.checkpointBytes = new Gauge({
      name: 'featurestream_checkpoint_size_bytes',
      help: 'Bytes of the state dir after the last checkpoint',
      registers,
    });
    this.sinkSeconds = new Histogram({
      name: 'featurestream_sink_write_duration_seconds',
      help: 'Time of one write of a batch to an external sink (retries included)',
      labelNames: ['sink'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.sinkBatch = new Histogram({
      name: 'featurestream_sink_batch_rows',
      help: 'Rows (or dead letters, late events) per write to an external sink',
      labelNames: ['sink'],
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000],
      registers,
    });
    this.sinkRetries = new Counter({
      name: 'featurestream_sink_retries_total',
      help: 'Store operations retried after a lost connection',
      labelNames: ['sink'],
      registers,
    });
  }

  attach(view: RunView): void {
    this.view = view;
  }

  shardProcessed(shard: number, records: number, seconds: number): void {
    const s = String(shard);
    this.shardRecords.labels(s).inc(records);
    this.shardSeconds.labels(s).observe(seconds);
  }

  checkpoint(seconds: number, ok: boolean): void {
    if (!ok) {
      this.checkpointFailures.inc();
      return;
    }
    this.checkpoints.inc();
    this.checkpointSeconds.observe(seconds);
    if (this.stateDir !== null) this.checkpointBytes.set(dirBytes(this.stateDir));
  }

  /** Wraps sinks so every write is timed and sized, and store retries are counted. */
  instrumentSinks(sinks: readonly RowSink[]): RowSink[] {
    return sinks.map((sink) => {
      const time = async <T>(n: number, fn: () => Promise<T>): Promise<T> => {
        const before = retriesOf(sink);
        const t0 = performance.now();
        try {
          return await fn();
        } finally {
          this.sinkSeconds.labels(sink.name).observe((performance.now() - t0) / 1000);
          this.sinkBatch.labels(sink.name).observe(n);
          const retried = retriesOf(sink) - before;
          if (retried > 0) this.sinkRetries.labels(sink.name).inc(retried);
        }
      };
      const wrapped: RowSink = {
        name: sink.name,
        write: (rows: readonly FeatureRow[]) => time(rows.length, () => sink.write(rows)),
        flush: () => sink.flush(),
        close: () => sink.close(),
        ...(sink.writeDeadLetters === undefined
          ? {}
          : {
              writeDeadLetters: (e: readonly DeadLetterRecord[]) =>
                time(e.length, () => sink.writeDeadLetters!(e)),
            }),
        ...(sink.writeLate === undefined
          ? {}
          : { writeLate: (e: readonly LateRecord[]) => time(e.length, () => sink.writeLate!(e)) }),
      };
      return wrapped;
    });
  }
}

function retriesOf(sink: RowSink): number {
  const r = (sink as { retries?: unknown }).retries;
  return typeof r === 'number' ? r : 0;
}

/** Bytes of the files under a directory (0 when it does not exist). */
function dirBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(dir, name);
    try {
      const s = statSync(p);
      total += s.isDirectory() ? dirBytes(p) : s.size;
    } catch {
      // removed while we walked
    }
  }
  return total;
}
