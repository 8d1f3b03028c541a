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
