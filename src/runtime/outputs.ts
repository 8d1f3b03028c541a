import type { FeatureRow } from '../../operators/operator.js';
import type { ValidationRule } from '../../topology/feature-catalog.js';
import type { Topology } from '../../topology/nodes.js';
import { CommittedFile } from '../connectors/committed-file.js';
import { formatRow } from '../connectors/row-format.js';
import { formatTimestamp } from '../shared/timestamp.js';
import type { RowMonitor } from './observer.js';
import type { RowLines } from './protocol.js';
import type { DeadLetterRecord, LateRecord, RowSink } from './sink.js';
import { addRowLineCounts, validateRow } from './validate-row.js';

/** The counters the outputs keep (a file run's and a Kafka shard's totals share them). */
export interface OutputCounters {
  deadLettersByReason: Record<string, number>;
  lateByWindow: Record<string, number>;
  rowsByGroup: Record<string, number>;
  /** Output values that failed their registry rule and were written as null, by `feature:reason`. */
  invalidValues: Record<string, number>;
}

/** The committed lengths of the three NDJSON files (null: the file is not written). */
export interface OutputLengths {
  readonly out: number | null;
  readonly deadLetters: number | null;
  readonly lateEvents: number | null;
}

/**
 * A malformed record. The NDJSON line is `{line, offset, reason, detail, raw}` from every driver;
 * a driver may add fields after those (`extra`: a Kafka record's partition and key).
 */
export interface DeadLetterEntry {
  /** The input: a file path or `topic/partition`. */
  readonly source: string;
  /** 1-based position of the record in its part (line of a file, offset + 1 in a partition). */
  readonly line: number;
  /** Byte offset in a file, offset in a partition. */
  readonly offset: number;
  readonly reason: string;
  readonly detail: string;
  readonly raw: string | null;
  readonly extra?: Readonly<Record<string, unknown>>;
  /** What the sinks get as `raw` when `raw` is null (a binary Kafka record's base64). */
  readonly sinkRaw?: string;
}

/**
 * A record that came after its window closed. The NDJSON line is `{line, window, group,
 * event_time, raw}` from every driver, then `extra` (a Kafka record's partition and offset).
 */
export interface LateEntry {
  readonly source: string;
  /** Its place in the input (byte offset, Kafka offset; −1 when unknown). */
  readonly position: number;
  readonly line: number;
  readonly window: string;
  readonly eventTime: number;
  readonly raw: string | null;
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** What {@link Outputs} writes to and counts in. */
export interface OutputsOptions {
  /** NDJSON paths (null: not written) and their committed lengths to cut back to (null: fresh). */
  readonly files: {
    readonly out: string | null;
    readonly deadLetters: string | null;
    readonly lateEvents: string | null;
  };
  readonly committed: Partial<OutputLengths> | null;
  readonly sinks: readonly RowSink[];
  readonly rules: ReadonlyMap<string, ValidationRule>;
  readonly counters: OutputCounters;
  /** Group of each window and process operator (a late event's `group`). */
  readonly windowGroups: ReadonlyMap<string, string>;
  /** Keeps only the rows for which this holds (a replay's range); rows left out are not counted. */
  readonly rowFilter?: (row: FeatureRow) => boolean;
  // biome-ignore lint/suspicious/noExplicitAny: a monitor of any alert type (its alerts go only to its own side output)
  readonly drift?: RowMonitor<any>;
  /** Told of rows by group and of dead letters (a Kafka member's Prometheus counters). */
  readonly onRows?: (group: string, n: number) => void;
  readonly onDeadLetter?: (reason: string) => void;
  /** Records per sink write. Default 5,000. */
  readonly sinkBatch?: number;
}

/** The group of every window and process operator of a topology, by operator id. */
export function windowGroupsOf(topology: Topology): Map<string, string> {
  const groups = new Map<string, string>();
  for (const n of topology.nodes) if (n.kind === 'window' || n.kind === 'process') groups.set(n.id, n.group);
  return groups;
}

/**
 * The one output stage of a job, file run or Kafka shard: rows, dead letters and late events go
 * to the counters, to the committed NDJSON files and to the external sinks.
 *
 * Sink writes are batched: records are buffered and a full buffer starts one write (the sinks
 * side by side, each in order) while the job goes on; the next full buffer waits for it
 * (backpressure: a slow or unavailable store holds the input back), and {@link flush} — before
 * every checkpoint commits — waits for all of them. A failed write fails the job at that next wait.
 *
 * @example
 * const outputs = new Outputs({ files, committed: null, sinks, rules, counters, windowGroups });
 * outputs.rows(fired);
 * await outputs.backpressure();
 * await outputs.flush();
 * record.sinks = outputs.commit();
 */
export class Outputs {
  /** Rows go only to the rows file: the shards may validate and format them where they fire. */
  readonly rowsAsLines: boolean;
  private readonly out: CommittedFile | null;
  private readonly dl: CommittedFile | null;
  private readonly lateOut: CommittedFile | null;
  private readonly sinks: readonly RowSink[];
  private readonly counters: OutputCounters;
  private readonly batch: number;
  private sinkRows: FeatureRow[] = [];
  private sinkDl: DeadLetterRecord[] = [];
  private sinkLate: LateRecord[] = [];
  private writing: Promise<void> = Promise.resolve();
  /** Sink writes started and not finished. */
  private writes = 0;

  constructor(private readonly opts: OutputsOptions) {
    const open = (path: string | null, len: number | null | undefined) =>
      path === null ? null : CommittedFile.open(path, len ?? null);
    this.out = open(opts.files.out, opts.committed?.out);
    this.dl = open(opts.files.deadLetters, opts.committed?.deadLetters);
    this.lateOut = open(opts.files.lateEvents, opts.committed?.lateEvents);
    this.sinks = opts.sinks;
    this.counters = opts.counters;
    this.batch = opts.sinkBatch ?? 5_000;
    this.rowsAsLines =
      this.out !== null &&
      this.sinks.length === 0 &&
      opts.rowFilter === undefined &&
      opts.drift === undefined;
  }

  /** Whether dead letters are written anywhere (else only counted: a caller may skip building them). */
  get deadLettersWritten(): boolean {
    return this.dl !== null || this.sinks.length > 0;
  }

  /** Whether late events are written anywhere (else only counted). */
  get lateWritten(): boolean {
    return this.lateOut !== null || this.sinks.length > 0;
  }

  /** Fired rows: filtered, validated against the registry rules, counted, written. */
  rows(rows: readonly FeatureRow[]): void {
    const { rowFilter, drift, rules, onRows } = this.opts;
    for (const raw of rows) {
      if (rowFilter !== undefined && !rowFilter(raw)) continue;
      const r = validateRow(raw, this.counters.invalidValues, rules);
      drift?.observe(r);
      this.counters.rowsByGroup[r.group] = (this.counters.rowsByGroup[r.group] ?? 0) + 1;
      onRows?.(r.group, 1);
      this.out?.append(formatRow(r));
      if (this.sinks.length > 0) this.sinkRows.push(r);
    }
  }

  /** Rows a shard validated and formatted ({@link rowsAsLines}): counted and appended. */
  lines(lines: RowLines): void {
    addRowLineCounts(lines, this.counters.invalidValues, this.counters.rowsByGroup);
    if (this.opts.onRows !== undefined)
      for (const [group, n] of Object.entries(lines.byGroup)) this.opts.onRows(group, n);
    this.out?.append(lines.text);
  }

  /** A dead letter: counted; built (only when written somewhere) and written. */
  deadLetter(reason: string, entry: () => DeadLetterEntry): void {
    this.counters.deadLettersByReason[reason] = (this.counters.deadLettersByReason[reason] ?? 0) + 1;
    this.opts.onDeadLetter?.(reason);
    if (!this.deadLettersWritten) return;
    const d = entry();
    this.dl?.append(
      `${JSON.stringify({ line: d.line, offset: d.offset, reason, detail: d.detail, raw: d.raw, ...d.extra })}\n`,
    );
    if (this.sinks.length > 0) {
      this.sinkDl.push({
        source: d.source,
        position: d.offset,
        line: d.line,
        reason,
        detail: d.detail,
        raw: d.raw ?? d.sinkRaw ?? '',
      });
    }
  }

  /** A late event of window `op`: counted; built (only when written somewhere) and written. */
  late(op: string, entry: () => LateEntry): void {
    this.counters.lateByWindow[op] = (this.counters.lateByWindow[op] ?? 0) + 1;
    if (!this.lateWritten) return;
    const l = entry();
    const group = this.opts.windowGroups.get(op) ?? op;
    if (this.sinks.length > 0) {
      this.sinkLate.push({
        source: l.source,
        position: l.position,
        line: l.line,
        window: op,
        group,
        eventTime: l.eventTime,
        raw: l.raw ?? '',
      });
    }
    this.lateOut?.append(
      `${JSON.stringify({ line: l.line, window: op, group, event_time: formatTimestamp(l.eventTime), raw: l.raw, ...l.extra })}\n`,
    );
  }

  /**
   * Starts a sink write when a batch is buffered and none runs, as rows come back from the shards:
   * the stores are written while the shards work, not only between input batches.
   */
  startSinkWrite(): void {
    if (this.writes === 0 && this.full()) void this.writeSinks(false);
  }

  /** Backpressure: with a batch buffered, waits for the write in progress, then starts one. */
  async backpressure(): Promise<void> {
    if (!this.full()) return;
    await this.writing;
    void this.writeSinks(false);
  }

  /** Everything buffered is written and every sink flushed (before a checkpoint commits). */
  flush(): Promise<void> {
    return this.writeSinks(true);
  }

  /** fsyncs the files; their committed lengths (what a checkpoint records). */
  commit(): OutputLengths {
    return {
      out: this.out?.commit() ?? null,
      deadLetters: this.dl?.commit() ?? null,
      lateEvents: this.lateOut?.commit() ?? null,
    };
  }

  /** Closes the files (the sinks belong to the job, which closes them). */
  close(): void {
    this.out?.close();
    this.dl?.close();
    this.lateOut?.close();
  }

  private full(): boolean {
    return this.sinkRows.length + this.sinkDl.length + this.sinkLate.length >= this.batch;
  }

  private writeSinks(flush: boolean): Promise<void> {
    const rows = this.sinkRows;
    const dls = this.sinkDl;
    const lates = this.sinkLate;
    this.sinkRows = [];
    this.sinkDl = [];
    this.sinkLate = [];
    if (this.sinks.length === 0) return this.writing;
    const writing = this.writing.then(() =>
      Promise.all(
        this.sinks.map(async (sink) => {
          if (rows.length > 0) await sink.write(rows);
          if (dls.length > 0) await sink.writeDeadLetters?.(dls);
          if (lates.length > 0) await sink.writeLate?.(lates);
          if (flush) await sink.flush();
        }),
      ).then(() => undefined),
    );
    writing.catch(() => undefined); // awaited by the next full buffer or the checkpoint
    this.writing = writing;
    this.writes++;
    const done = () => {
      this.writes--;
    };
    writing.then(done, done);
    return writing;
  }
}
