import type { Topology, WindowSpec } from '../../topology/nodes.js';
import { ConfigError } from '../shared/errors.js';

/**
 * What a replay of `[from, to)` reads and writes, derived from the topology alone (no I/O).
 *
 * - It reads every event with event time ≥ `readFrom` = `from − margin`, where `margin` is the
 *   largest window (a session's max duration plus its gap) plus its allowed lateness: every
 *   window that ends inside the range then sees all of its events.
 * - It stops at the first event with event time ≥ `stopAt` = `to + max(out-of-orderness +
 *   lateness) + 1`: by then the watermark has passed the end plus the allowed lateness of every
 *   window ending at or before `to`, so none of them can change any more.
 * - It writes the rows whose `event_time` lies in `[from, to)`: for a window `[s, e)` that is
 *   `e − 1`, so exactly the windows with `from < e ≤ to` (they hold time of the range and none
 *   after it); for per-event rows of keyed processors, the events in the range.
 *
 * - From Kafka it seeks each partition to the first message with a timestamp ≥ `seekAt` =
 *   `readFrom − max(out-of-orderness)`: a producer's timestamp may run ahead of the event time by
 *   as much as events are out of order, and the scan drops what is older than `readFrom` anyway.
 *
 * Between the first kept event and the stop, the event-time clock equals the live run's (the
 * events left out are older than every event kept and cannot raise the clock), so lateness and
 * firing decisions — and therefore the rows of those windows — are the live run's.
 *
 * @example
 * const p = replayPlan(llmPerfTopology(), Date.parse('2025-01-15T10:00:00Z'), Date.parse('2025-01-15T12:00:00Z'));
 * p.readFrom; // 10:00 − (1 h + 2 min lateness)
 */
export interface ReplayPlan {
  readonly from: number;
  readonly to: number;
  /** The largest window + lateness, ms. */
  readonly margin: number;
  readonly readFrom: number;
  readonly stopAt: number;
  /** Where a Kafka replay seeks by timestamp (see above). */
  readonly seekAt: number;
  /** Per window or processor: the extent that set the margin and its timing. */
  readonly nodes: readonly {
    readonly id: string;
    readonly group: string;
    readonly extent: number;
    readonly lateness: number;
    readonly outOfOrderness: number;
  }[];
}

/** The time a window's events can span: size, or a session's max duration plus its gap. */
export function windowExtent(w: WindowSpec): number {
  switch (w.type) {
    case 'tumbling':
    case 'sliding':
      return w.size;
    case 'session':
      return (w.maxDuration ?? 0) + w.gap;
  }
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Builds the {@link ReplayPlan} of `[from, to)` for a topology; `to` must be after `from`. */
export function replayPlan(topology: Topology, from: number, to: number): ReplayPlan {
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to)))
    throw new ConfigError('--from and --to must be instants', { field: '--from' });
  if (to <= from) throw new ConfigError(`--to must be after --from (got ${to} ≤ ${from})`, { field: '--to' });
  const nodes: ReplayPlan['nodes'][number][] = [];
  for (const n of topology.nodes) {
    if (n.kind === 'window') {
      nodes.push({
        id: n.id,
        group: n.group,
        extent: windowExtent(n.window),
        lateness: n.lateness,
        outOfOrderness: n.outOfOrderness,
      });
    } else if (n.kind === 'process') {
      // Processors with session-like state declare it in their params (gap, max duration, lateness).
      const p = (n.params ?? {}) as Record<string, unknown>;
      nodes.push({
        id: n.id,
        group: n.group,
        extent: num(p.maxDuration) + num(p.gap),
        lateness: num(p.lateness),
        outOfOrderness: n.outOfOrderness,
      });
    }
  }
  const margin = Math.max(0, ...nodes.map((x) => x.extent + x.lateness));
  const settle = Math.max(0, ...nodes.map((x) => x.outOfOrderness + x.lateness));
  const disorder = Math.max(0, ...nodes.map((x) => x.outOfOrderness));
  const readFrom = from - margin;
  return { from, to, margin, readFrom, stopAt: to + settle + 1, seekAt: readFrom - disorder, nodes };
}
