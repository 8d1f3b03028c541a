import type { FeatureSpec, WindowNode, WindowSpec } from '../topology/nodes.js';
import type { Emitter, FeatureRow, Operator, RecordBatch } from './operator.js';
import { isDeclared } from '../state/state-tables.js';

/** A record for operator tests: key, event time, the clock before it, one numeric field `x`. */
export interface TestRecord {
  readonly key: string;
  readonly ts: number;
  readonly clock: number;
  readonly x?: number;
}

export function batchOf(records: readonly TestRecord[]): RecordBatch {
  const n = records.length;
  const refs = new Int32Array(n);
  for (let i = 0; i < n; i++) refs[i] = i;
  return {
    count: n,
    width: 1,
    keys: records.map((r) => r.key),
    attrs: [],
    attrWidth: 0,
    ts: Float64Array.from(records.map((r) => r.ts)),
    clock: Float64Array.from(records.map((r) => r.clock)),
    values: Float64Array.from(records.map((r) => r.x ?? 1)),
    refs,
  };
}

export interface Collected {
  rows: FeatureRow[];
  late: Array<{ ref: number; op: string; ts: number }>;
  out: Emitter;
}

export function collector(): Collected {
  const c: Collected = {
    rows: [],
    late: [],
    out: {
      row: (r) => c.rows.push(r),
      late: (ref, op, ts) => c.late.push({ ref, op, ts }),
    },
  };
  return c;
}

export const SUM_AND_COUNT: readonly FeatureSpec[] = [
  { id: 'T_1', name: 'n', agg: { type: 'count' } },
  { id: 'T_2', name: 'sum_x', agg: { type: 'sum', field: 'x' } },
];

export function windowNode(
  window: WindowSpec,
  opts: { lateness?: number; bound?: number; features?: readonly FeatureSpec[]; early?: number } = {},
): WindowNode {
  return {
    kind: 'window',
    id: 'w',
    inputs: ['k'],
    key: 'k',
    window,
    lateness: opts.lateness ?? 0,
    outOfOrderness: opts.bound ?? 0,
    ...(opts.early === undefined ? {} : { earlyFiring: { intervalMs: opts.early } }),
    group: 'g',
    entityType: 'thing',
    version: 1,
    features: opts.features ?? SUM_AND_COUNT,
  };
}

/** Feeds records one by one where each record's clock is the max event time before it (a single partition). */
export function runInOrder(
  op: Operator,
  records: ReadonlyArray<Omit<TestRecord, 'clock'>>,
  finish = true,
): Collected {
  const c = collector();
  let clock = Number.NEGATIVE_INFINITY;
  const withClock: TestRecord[] = [];
  for (const r of records) {
    withClock.push({ ...r, clock });
    clock = Math.max(clock, r.ts);
  }
  op.processBatch(batchOf(withClock), c.out);
  if (finish) op.onWatermark?.(Number.POSITIVE_INFINITY, c.out);
  return c;
}

/** Rows as compact strings `key [start,end) rev=r n=… sum_x=…` for readable assertions. */
export function show(rows: readonly FeatureRow[]): string[] {
  return rows.map(
    (r) =>
      `${r.entityId} [${r.windowStart},${r.windowEnd}) rev=${r.revision}${r.provisional ? ' provisional' : ''} ` +
      Object.entries(r.values)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
  );
}

/**
 * Runs `records` through one operator straight, and for every cut through two: the first up to
 * the cut, checkpointed, then a fresh operator restored from that checkpoint for the rest. The
 * restored entries come in key order, as the LevelDB checkpoint store returns them. Returns the
 * straight rows and, per cut, the rows before plus after the restore (which must be equal).
 */
export function runAcrossRestores(
  newOp: () => Operator,
  records: ReadonlyArray<Omit<TestRecord, 'clock'>>,
): { straight: string[]; restored: Array<{ cut: number; rows: string[] }> } {
  const withClock: TestRecord[] = [];
  let clock = Number.NEGATIVE_INFINITY;
  for (const r of records) {
    withClock.push({ ...r, clock });
    clock = Math.max(clock, r.ts);
  }
  const straightOut = collector();
  const straightOp = newOp();
  straightOp.processBatch(batchOf(withClock), straightOut.out);
  straightOp.onWatermark?.(Number.POSITIVE_INFINITY, straightOut.out);
  const restored: Array<{ cut: number; rows: string[] }> = [];
  for (let cut = 1; cut < withClock.length; cut++) {
    const c = collector();
    const first = newOp();
    first.processBatch(batchOf(withClock.slice(0, cut)), c.out);
    const store = new Map<string, string>();
    const changes = first.onCheckpoint?.() ?? new Map<string, string | null>();
    for (const k of changes.keys()) {
      if (undeclared(first, k))
        throw new Error(`${first.id} wrote ${k}, outside the state tables it declares`);
    }
    for (const [k, v] of changes) {
      if (v === null) store.delete(k);
      else store.set(k, v);
    }
    const second = newOp();
    second.onStart?.(new Map([...store].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    second.processBatch(batchOf(withClock.slice(cut)), c.out);
    second.onWatermark?.(Number.POSITIVE_INFINITY, c.out);
    restored.push({ cut, rows: show(c.rows) });
  }
  return { straight: show(straightOut.rows), restored };
}

/** True when checkpoint entry `key` belongs to none of the operator's declared state tables. */
export function undeclared(op: Operator, key: string): boolean {
  return !isDeclared(op.tables, key);
}
