import {
  type OperatorTables,
  type TableCodec,
  type TimeKeyedTable,
  timeKeyedTable,
  type ValueTable,
  valueTable,
} from '../state/state-tables.js';
import {
  decodeTime,
  type Emitter,
  encodeTime,
  type Operator,
  type RecordBatch,
  type StateTableSpec,
} from './operator.js';
import { attachTables, declaredTables, TableOperator } from './table-operator.js';
import { watermarkFor } from './watermark.js';

interface Buffered {
  readonly seq: number;
  readonly key: string;
  readonly ts: number;
  readonly values: ArrayLike<number>;
  readonly attrs: string[];
}

const num = (x: number): number | string => (Number.isFinite(x) ? x : String(x));
const unnum = (x: number | string): number => (typeof x === 'number' ? x : Number(x));

/** Event-time order, ties broken by content, so the order does not depend on arrival. */
function heapPush(h: Buffered[], b: Buffered): void {
  h.push(b);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (compare(h[p]!, b) <= 0) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = b;
}

function heapPop(h: Buffered[]): Buffered {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && compare(h[r]!, h[l]!) < 0 ? r : l;
      if (compare(last, h[c]!) <= 0) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
  return top;
}

/** Records `start … end-1` of a batch, clocks −∞ (see {@link Operator.processUnordered}). */
function sliceBatch(batch: RecordBatch, start: number, end: number): RecordBatch {
  const { width, attrWidth } = batch;
  return {
    count: end - start,
    width,
    keys: batch.keys.slice(start, end),
    attrs: batch.attrs.slice(start * attrWidth, end * attrWidth),
    attrWidth,
    ts: batch.ts.subarray(start, end),
    clock: new Float64Array(end - start).fill(Number.NEGATIVE_INFINITY),
    values: batch.values.subarray(start * width, end * width),
    refs: batch.refs.subarray(start, end),
  };
}

function compare(a: Buffered, b: Buffered): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i]!;
    const y = b.values[i]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (Number.isNaN(x)) return -1;
    if (Number.isNaN(y)) return 1;
    return x - y;
  }
  for (let i = 0; i < a.attrs.length; i++) {
    const x = a.attrs[i]!;
    const y = b.attrs[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The sorted stream's position: its clock, what was released, the next arrival sequence. */
interface SortMeta {
  readonly clock: number;
  readonly released: number;
  readonly seq: number;
}

/** A buffered record as stored: `[key, ts, values, attrs]`, keyed by its arrival sequence. */
const BUFFERED_CODEC: TableCodec<Buffered> = {
  version: 1,
  encode: (b) => JSON.stringify([b.key, b.ts, Array.from(b.values, num), b.attrs]),
  decode: (stored, seq) => {
    const [key, ts, values, attrs] = JSON.parse(stored) as [string, number, Array<number | string>, string[]];
    return { seq: Number(seq), key, ts, values: values.map(unnum), attrs };
  },
};

const SORT_META_CODEC: TableCodec<SortMeta> = {
  version: 1,
  encode: (m) => JSON.stringify({ clock: encodeTime(m.clock), released: encodeTime(m.released), seq: m.seq }),
  decode: (s) => {
    const m = JSON.parse(s) as { clock: number | string; released: number | string; seq: number };
    return { clock: decodeTime(m.clock), released: decodeTime(m.released), seq: m.seq };
  },
};

/**
 * Feeds an order-dependent keyed processor (sessions counted in order, stream–table joins,
 * running centroids) its records in **event-time order**, whatever order they arrived in: records
 * wait in a buffer until the watermark (`clock − outOfOrderness − 1`) passes them, then go to the
 * processor sorted by (event time, key, values, attributes), each with the clock of that sorted
 * stream (the greatest event time up to and including it). A file read in line order and Kafka partitions
 * interleaved in any order then give the processor the same sequence, so its rows are identical.
 * A record already behind the watermark when it arrives is late: it goes to the late-data side
 * output (as a window's late record does), not to the processor. The bound should cover the
 * stream's real disorder (the runtime uses the largest out-of-orderness of the topology).
 *
 * **Window mode** (`{ window: true }`, for windows whose result depends on the order records
 * merge — session windows with a maximum duration): as for a processor, the window sees the
 * sorted stream and its clock (it fires once the sorted stream has passed a session's end by its
 * out-of-orderness, so records within the bound never revise a session); a record already behind
 * the bound is not late here but goes straight to the window with its position, and the
 * window's allowed lateness decides (a revision, or late) as it always does.
 *
 * The buffer is operator state: the time-keyed table `sort/b`, record by record by arrival
 * sequence (the records buffered at the checkpoint; one that arrived and left between two
 * checkpoints is never written), with the sorted stream's clock in the single value `sort/meta`;
 * the wrapped processor's own tables sit beside them, unchanged.
 *
 * @example
 * const op = new EventTimeSortedOperator(new RequestRowOperator(node, fields, attrs), node.outOfOrderness);
 * const win = new EventTimeSortedOperator(new SessionWindowOperator(node, fields), node.outOfOrderness, { window: true });
 */
export class EventTimeSortedOperator extends TableOperator {
  readonly id: string;
  readonly tables: readonly StateTableSpec[];
  /** The buffer as a binary min-heap in {@link compare} order: releasing pops what is due. */
  private buffer: Buffered[] = [];
  /**
   * Records released (in order) and not yet handed to the processor: handed over together before
   * anything else reaches it (an unordered run, a record behind the bound) and at the end of each
   * call, so the processor gets one batch where it got one per step of the watermark.
   */
  private due: Buffered[] = [];
  /** Greatest event time handed to the processor (its in-order clock). */
  private clock = Number.NEGATIVE_INFINITY;
  /** Records at or before this event time have been released. */
  private released = Number.NEGATIVE_INFINITY;
  private seq = 0;
  /** The buffer as checkpointed state: seq → the record. */
  private stored!: TimeKeyedTable<Buffered>;
  private meta!: ValueTable<SortMeta>;
  private metaDirty = false;

  /** Window mode: see the class comment. */
  private readonly window: boolean;

  constructor(
    private readonly inner: Operator,
    private readonly outOfOrderness: number,
    opts: { readonly window?: boolean } = {},
  ) {
    super();
    this.window = opts.window === true;
    this.id = inner.id;
    this.tables = [
      ...declaredTables(inner),
      timeKeyedTable('sort/b', BUFFERED_CODEC),
      valueTable('sort/meta', SORT_META_CODEC),
    ];
    this.attachOwn();
  }

  protected bind(tables: OperatorTables): void {
    this.stored = tables.timeKeyed<Buffered>('sort/b');
    this.meta = tables.value<SortMeta>('sort/meta');
    // The wrapped operator's tables are declared beside ours, under the same names.
    attachTables(this.inner, tables);
  }

  processBatch(batch: RecordBatch, out: Emitter): void {
    const { width, attrWidth } = batch;
    const inner = this.inner;
    const bypass = !this.window && inner.isUnordered !== undefined && inner.processUnordered !== undefined;
    // A run of records the processor takes unordered: handed over before anything is released after them.
    let runStart = -1;
    const flushRun = (end: number) => {
      if (runStart < 0) return;
      this.handOver(out);
      inner.processUnordered!(sliceBatch(batch, runStart, end), out);
      runStart = -1;
    };
    // The buffered records' values: views on one copy of the batch's values, taken at the first
    // record kept (one allocation per batch, not one per record; the batch is the caller's).
    let copy: Float64Array | null = null;
    for (let r = 0; r < batch.count; r++) {
      const wm = watermarkFor(batch.clock[r]!, this.outOfOrderness);
      if (runStart >= 0 && wm > this.released && this.buffer.length > 0 && this.buffer[0]!.ts <= wm)
        flushRun(r);
      this.release(wm);
      if (bypass && inner.isUnordered!(batch.values, r * width)) {
        if (batch.ts[r]! <= this.released) {
          flushRun(r);
          out.late(batch.refs[r]!, this.id, batch.ts[r]!);
        } else if (runStart < 0) runStart = r;
        continue;
      }
      flushRun(r);
      copy ??= batch.values.slice(0, batch.count * width);
      const rec: Buffered = {
        seq: this.seq,
        key: batch.keys[r]!,
        ts: batch.ts[r]!,
        values: copy.subarray(r * width, r * width + width),
        attrs: batch.attrs.slice(r * attrWidth, r * attrWidth + attrWidth) as string[],
      };
      this.metaDirty = true;
      if (rec.ts <= this.released && this.window) {
        // Behind the bound: the window's allowed lateness decides (revision or late), as unsorted.
        this.handOver(out);
        this.feed([rec], width, attrWidth, out, batch.refs[r]!);
      } else if (rec.ts <= this.released) {
        // Behind the watermark: processing it now would depend on when it arrived. Late, as for windows.
        out.late(batch.refs[r]!, this.id, rec.ts);
      } else {
        this.seq++;
        heapPush(this.buffer, rec);
      }
    }
    flushRun(batch.count);
    this.handOver(out);
  }

  onWatermark(clock: number, out: Emitter): void {
    this.release(watermarkFor(clock, this.outOfOrderness));
    this.handOver(out);
    // The wrapped operator's clock is the sorted stream's; only the end of the input goes through as is.
    if (clock === Number.POSITIVE_INFINITY) this.inner.onWatermark?.(clock, out);
  }

  /** The wrapped operator's state size, where it reports one (windows). */
  stateBytes(): number | undefined {
    return (this.inner as { stateBytes?: () => number }).stateBytes?.();
  }

  onTick(nowMs: number, out: Emitter): void {
    this.inner.onTick?.(nowMs, out);
  }

  /**
   * Moves what the watermark passed to {@link due}. Popped in compare order (time first), and
   * every record buffered later is after this watermark, so `due` stays sorted; records comparing
   * equal are identical, so their order does not matter. No scan of the whole buffer per record.
   */
  private release(wm: number): void {
    if (wm <= this.released) return;
    this.released = wm;
    this.metaDirty = true;
    while (this.buffer.length > 0 && this.buffer[0]!.ts <= wm) this.due.push(heapPop(this.buffer));
  }

  /** Hands the released records to the processor, in order. */
  private handOver(out: Emitter): void {
    if (this.due.length === 0) return;
    const ready = this.due;
    this.due = [];
    this.feed(ready, ready[0]!.values.length, ready[0]!.attrs.length, out);
  }

  /**
   * Hands records to the wrapped operator in the given order, each with the sorted stream's clock;
   * `ref` is the position of a single record fed directly (window mode, behind the bound).
   */
  private feed(recs: readonly Buffered[], width: number, attrWidth: number, out: Emitter, ref = -1): void {
    const n = recs.length;
    const ts = new Float64Array(n);
    const clock = new Float64Array(n);
    const values = new Float64Array(n * width);
    const attrs: string[] = [];
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const b = recs[i]!;
      keys.push(b.key);
      ts[i] = b.ts;
      // Sorted, everything up to this record's time has been seen: the clock is its own time.
      if (b.ts > this.clock) this.clock = b.ts;
      clock[i] = this.clock;
      values.set(b.values, i * width);
      for (const a of b.attrs) attrs.push(a);
    }
    // Released records are never behind the inner operator's watermark: their positions are unused.
    const refs = new Int32Array(n).fill(ref);
    this.inner.processBatch({ count: n, width, keys, attrs, attrWidth, ts, clock, values, refs }, out);
  }

  override restored(): void {
    const m = this.meta.get();
    if (m !== undefined) {
      this.clock = m.clock;
      this.released = m.released;
      this.seq = m.seq;
    }
    this.buffer = [];
    this.due = [];
    for (const b of this.stored.values()) heapPush(this.buffer, b);
    this.inner.restored?.();
  }

  override beforeCheckpoint(): void {
    // The stored buffer catches up with the heap here, once per checkpoint, not per record: a
    // record that came and went between two checkpoints is never written.
    const live = new Set<number>();
    for (const b of this.buffer) {
      live.add(b.seq);
      if (!this.stored.has(b.seq)) this.stored.set(b.seq, b);
    }
    if (this.stored.size > live.size) {
      for (const k of [...this.stored.keys()]) if (!live.has(k)) this.stored.delete(k);
    }
    if (this.metaDirty) {
      this.meta.set({ clock: this.clock, released: this.released, seq: this.seq });
      this.metaDirty = false;
    }
    this.inner.beforeCheckpoint?.();
  }

  onClose(): void {
    this.inner.onClose?.();
  }
}
