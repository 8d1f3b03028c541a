import type { ProviderStats } from '../../operators/providers.js';
import type { Logger } from 'pino';
import type { FeatureRow } from '../../operators/operator.js';
import type { Topology } from '../../topology/nodes.js';
import type { CheckpointRecord } from './checkpoint-record.js';
import type { RowSink } from './sink.js';
import type { LiveObserver, RowMonitor, RunObserver } from './observer.js';
import type { DeadLetterPolicy } from './dead-letter-policy.js';

/** What a run reads, writes and how it is parallelised. */
export interface RunOptions {
  readonly topology: Topology;
  readonly input: string;
  /** Feature rows as NDJSON (the file sink), or null. */
  readonly out: string | null;
  readonly deadLetters: string | null;
  /** The late-data side output as NDJSON, or null (late events are still counted). */
  readonly lateEvents: string | null;
  /** LevelDB state and checkpoint record; null keeps state in memory (no restart). */
  readonly stateDir: string | null;
  readonly workers: number;
  readonly shards: number;
  readonly checkpointIntervalMs: number;
  readonly batchLines?: number;
  /** Delete any previous state in stateDir first. */
  readonly fresh?: boolean;
  readonly logger: Logger;
  /** Called about twice a second with the bytes and lines read so far (lines count from the file's start). */
  readonly onProgress?: (bytes: number, total: number, lines: number) => void;
  /**
   * Keeps only the rows for which this holds (all rows when absent): a replay writes only the
   * windows that end inside its range. Rows left out are neither counted nor written.
   */
  readonly rowFilter?: (row: FeatureRow) => boolean;
  /** A live view of the job (the web UI's metrics), or none. */
  readonly observer?: LiveObserver;
  /**
   * External sinks (online/offline stores, Kafka). Rows, dead letters and late records are
   * handed to them in batches and flushed before each checkpoint commits (exactly-once with
   * idempotent sinks); a slow or unavailable sink holds the input back.
   */
  readonly sinks?: readonly RowSink[];
  /** The run's options of each provider the topology's maps need, by provider name (`operators/providers.ts`). */
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Continuous drift (src/drift/monitor.ts): sees every validated row, and at each checkpoint
   * its drift rows join the output (group `drift`) and its alerts go to `driftAlerts`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a monitor of any alert type (its alerts go only to its own side output)
  readonly drift?: RowMonitor<any>;
  /** The drift alerts side output (NDJSON), or null. */
  readonly driftAlerts?: string | null;
  /** Prometheus metrics of the run (src/monitoring/run-metrics.ts). */
  readonly metrics?: RunObserver;
  /**
   * Stop (exit 1, after committing what was read) when dead letters are more than
   * `maxShare` of the first `window` lines or of the whole input (`dead-letter-policy.ts`);
   * absent or null: count them and go on.
   */
  readonly deadLetterPolicy?: DeadLetterPolicy | null;
}

/** What a run did. Counters are totals over the whole job, across restarts. */
export interface RunSummary {
  readonly eventsRead: number;
  readonly deadLetters: number;
  readonly deadLettersByReason: Record<string, number>;
  readonly lateEvents: number;
  readonly lateByWindow: Record<string, number>;
  readonly rowsWritten: number;
  readonly rowsByGroup: Record<string, number>;
  readonly checkpoints: number;
  /** Output values that failed their registry rule and were written as null, by `feature:reason`. */
  readonly invalidValues: Record<string, number>;
  /** Per provider: distinct keys resolved per batch, and how many a cache answered. */
  readonly provided: ProviderStats;
  /** The checkpoint this process resumed from, or null for a fresh start. */
  readonly resumedFrom: number | null;
  /** True when the state dir held a finished job and nothing was run. */
  readonly alreadyComplete: boolean;
  /** Seconds and events/s of this process. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /**
   * Milliseconds from the start of the process to the first event decoded by a worker and back
   * at the coordinator (start-up: module loading, the pool, opening state), or null when no event was read.
   */
  readonly firstEventMs: number | null;
}

/** A run's totals, kept with each checkpoint (`checkpoint-record.ts`). */
export type Counters = CheckpointRecord['counters'];

/** @internal The summary of a run from its counters. */
export function summarize(
  c: Counters,
  checkpoints: number,
  resumedFrom: number | null,
  alreadyComplete: boolean,
  started: number,
  processedHere: number,
  firstEventMs: number | null,
): RunSummary {
  const seconds = (performance.now() - started) / 1000;
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return {
    eventsRead: c.eventsRead,
    deadLetters: sum(c.deadLettersByReason),
    deadLettersByReason: c.deadLettersByReason,
    lateEvents: sum(c.lateByWindow),
    lateByWindow: c.lateByWindow,
    rowsWritten: sum(c.rowsByGroup),
    rowsByGroup: c.rowsByGroup,
    checkpoints,
    invalidValues: c.invalidValues ?? {},
    provided: c.provided ?? {},
    resumedFrom,
    alreadyComplete,
    seconds,
    eventsPerSecond: seconds > 0 ? processedHere / seconds : 0,
    firstEventMs,
  };
}
