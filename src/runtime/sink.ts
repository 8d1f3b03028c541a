import type { FeatureRow } from '../../operators/operator.js';

/**
 * A malformed record on its way to a dead-letter sink. `source` names the input (a file path or
 * `topic/partition`) and `position` its place in it (byte offset or Kafka offset): together they
 * identify the record, so a replay after a crash rewrites the same entry instead of adding one.
 */
export interface DeadLetterRecord {
  readonly source: string;
  readonly position: number;
  readonly line: number;
  readonly reason: string;
  readonly detail: string;
  readonly raw: string;
}

/** A record that arrived after all of its windows closed (the late-data side output). */
export interface LateRecord {
  readonly source: string;
  readonly position: number;
  readonly line: number;
  /** The window (operator) id whose lateness it missed. */
  readonly window: string;
  readonly group: string;
  /** Event time, ms since the epoch. */
  readonly eventTime: number;
  readonly raw: string;
}

/**
 * An external sink the coordinator drives (online store, offline store, Kafka topic).
 *
 * Exactly-once contract: the coordinator calls `write*` as batches complete and `flush()` before
 * it commits a checkpoint; only after `flush()` resolves is the checkpoint committed. After a
 * crash the run restarts from the last committed checkpoint and re-emits the same rows (the
 * engine is deterministic), so a sink must make writes idempotent: writing a row again with the
 * same key and revision changes nothing, and a higher revision replaces a lower one.
 *
 * Backpressure: `write*` and `flush` may take as long as they need (an outage is retried, never
 * dropped); the coordinator awaits them before reading more input.
 */
export interface RowSink {
  /** For logs and the summary, e.g. `offline:postgres`. */
  readonly name: string;
  write(rows: readonly FeatureRow[]): Promise<void>;
  writeDeadLetters?(entries: readonly DeadLetterRecord[]): Promise<void>;
  writeLate?(entries: readonly LateRecord[]): Promise<void>;
  /** Everything written so far is durable when this resolves. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
