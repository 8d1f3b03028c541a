import type { FeatureRow } from '../../operators/operator.js';

/**
 * A live view of a running job (the web UI's metrics): the coordinator hands over read-only
 * access to its counters when it starts and reports each checkpoint. Reading happens on the
 * observer's own schedule, so the hot path pays nothing but a counter per routed record.
 *
 * @example
 * runJob({ ...opts, observer: metrics });   // src/ui/metrics.ts `RunMetrics`
 */
export interface LiveObserver {
  attach(view: LiveView): void;
  checkpoint(c: { readonly id: number; readonly ms: number; readonly done: boolean }): void;
}

/** What an observer may read while the job runs (live objects: read, never write). */
export interface LiveView {
  readonly workers: number;
  readonly shards: number;
  readonly stateDir: string | null;
  /** Totals so far: events read, dead letters by reason, late records by window id, rows by group. */
  readonly counters: {
    readonly eventsRead: number;
    readonly deadLettersByReason: Readonly<Record<string, number>>;
    readonly lateByWindow: Readonly<Record<string, number>>;
    readonly rowsByGroup: Readonly<Record<string, number>>;
  };
  /** Records routed into each keyed branch so far, by the id of its keyBy node. */
  readonly recordsByKeyBy: Readonly<Record<string, number>>;
  /** The event-time clock (greatest event time seen; −∞ before any, +∞ at the end). */
  readonly clock: () => number;
}

/** What a metrics observer reads of a running job (`featurestream_*` run metrics). */
export interface RunView {
  readonly counters: {
    readonly eventsRead: number;
    readonly deadLettersByReason: Readonly<Record<string, number>>;
    readonly lateByWindow: Readonly<Record<string, number>>;
    readonly rowsByGroup: Readonly<Record<string, number>>;
    readonly invalidValues?: Readonly<Record<string, number>>;
  };
  /** The event-time clock (greatest event time seen, ms), −∞ before the first event. */
  clock(): number;
  /** Bytes of the input read so far. */
  offset(): number;
  readonly totalBytes: number;
}

/** What the coordinator reports to a {@link RunMetrics} (all optional hooks of a run). */

/** Prometheus-style run metrics: attached at start, told of each shard's work and checkpoint. */
export interface RunObserver {
  attach(view: RunView): void;
  shardProcessed(shard: number, records: number, seconds: number): void;
  checkpoint(seconds: number, ok: boolean): void;
}

/**
 * A monitor of the output rows (continuous drift is one, `src/drift/monitor.ts`): it sees every
 * validated row; at each checkpoint it returns rows to add to the output and alerts for its
 * side output.
 */
export interface RowMonitor<Alert = unknown> {
  observe(row: FeatureRow): void;
  advance(clock: number): { rows: FeatureRow[]; alerts: Alert[] };
  /** Opens the alerts side output (rewritten from the committed rows when `resumed`), or null. */
  openAlerts(
    opts: { readonly out: string | null; readonly driftAlerts?: string | null },
    resumed: boolean,
  ): ((alerts: readonly Alert[]) => void) | null;
}
