import type { EncodedBranch } from '../../runtime/protocol.js';
import { InternalError } from '../../shared/errors.js';
import { StringDictionary } from '../../runtime/string-dictionary.js';

/**
 * Repartition frames: what the source stage sends a shard through the repartition topic.
 *
 * A frame carries the records of one source chunk (a few fetched batches) that route to one
 * shard (one partition of the repartition topic), already decoded, filtered and mapped, in the
 * decode stage's columns
 * ({@link EncodedBranch}, one per keyed branch) — records travel in batches, as between the
 * coordinator and its shard actors, not one Kafka message per record. `refs` hold the records'
 * offsets in their source partition, so a shard can drop what it has already seen (replays after
 * a crash or a rebalance) record by record, and report late records by source position.
 *
 * Every source chunk sends a frame to *every* shard, even one with no records: it carries the
 * source partition's event-time progress (`end`), like a watermark broadcast in Flink, so a
 * shard's clock can advance on partitions whose records all went elsewhere, and the end of a
 * bounded input (`eof`).
 *
 * The wire form (version 4) is a small JSON header (with each branch's dictionary of distinct
 * keys and attribute values) followed by the numeric columns — key and attribute indices
 * included — each in the narrowest exact form its values allow (none when all are NaN, 1-, 2- or
 * 4-byte offsets from the column's least value when all are integers, else Float64), the values
 * field by field; see {@link encodeFrame}.
 *
 * @example
 * const buf = encodeFrame({ partition: 3, last: 41, base: -Infinity, end: 1_736_900_000_000, eof: false,
 *   branches: [branch], deadLetters: [] });
 * decodeFrame(buf).branches[0]?.dict; // ['gpt-4', …]
 */
export interface RepartitionFrame {
  /** The source partition the records come from. */
  readonly partition: number;
  /** The greatest source offset this frame accounts for (−1: none). */
  readonly last: number;
  /** The source partition's clock (greatest event time) before the batch's first record. */
  readonly base: number;
  /** The source partition's clock after the batch. */
  readonly end: number;
  /** The source partition reached the end of a bounded run (`--stop-at-end`). */
  readonly eof: boolean;
  /** Per keyed branch of the plan; `refs` are source offsets; `clock` is the in-batch clock (before `base`). */
  readonly branches: ReadonlyArray<EncodedBranch | null>;
  /** Malformed records of the batch (sent to one shard per source partition). */
  readonly deadLetters: readonly FrameDeadLetter[];
  /**
   * `[source offset, raw text]` of the frame's records that may be late (those behind their
   * partition's clock), so the late-data side output carries the record as read.
   */
  readonly raws?: ReadonlyArray<readonly [number, string]>;
}

/** A record the decode stage refused, with what identifies it in the source. */
export interface FrameDeadLetter {
  readonly offset: number;
  /** A reason code (src/events/types.ts REASON_CODES, or a Kafka one: see `KAFKA_REASON_CODES`). */
  readonly reason: string;
  readonly detail: string;
  /** The payload as UTF-8 text, or null when it is not valid UTF-8 (then `rawBase64` holds it). */
  readonly raw: string | null;
  readonly rawBase64?: string;
  readonly key: string | null;
}

/**
 * Version 4: compact columns (see {@link encodeFrame}). Still read: version 3 (every column as
 * Float64) and version 2 (keys and attributes as strings), written before an upgrade.
 */
const VERSION = 4;

/**
 * How a column is stored: 0 — every value is NaN (no bytes); 1, 2, 4 — every value is NaN or an
 * integer, stored as an unsigned offset from `base` of that many bytes (the width's greatest
 * value stands for NaN); 8 — Float64.
 */
type ColumnForm = 0 | 1 | 2 | 4 | 8;

/** The narrowest form that holds `n` values `src[from + i·stride]` exactly, and its base. */
function columnForm(src: Float64Array, from: number, stride: number, n: number): [ColumnForm, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0, at = from; i < n; i++, at += stride) {
    const v = src[at]!;
    if (Number.isNaN(v)) continue;
    // −0 and non-integers keep their bits as Float64.
    if (!Number.isSafeInteger(v) || (v === 0 && 1 / v < 0)) return [8, 0];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return [0, 0];
  const span = max - min;
  if (span < 0xff) return [1, min];
  if (span < 0xffff) return [2, min];
  if (span < 0xffffffff) return [4, min];
  return [8, 0];
}

/** An unsigned view of `n` integers of `form` bytes at `offset`. */
function uintView(
  form: 1 | 2 | 4,
  data: ArrayBufferLike,
  offset: number,
  n: number,
): Uint8Array | Uint16Array | Uint32Array {
  if (form === 1) return new Uint8Array(data, offset, n);
  return form === 2 ? new Uint16Array(data, offset, n) : new Uint32Array(data, offset, n);
}
const NAN_CODE = { 1: 0xff, 2: 0xffff, 4: 0xffffffff } as const;

/** A column as the header describes it: form, byte offset in the data section, base. */
type ColumnRef = [form: ColumnForm, offset: number, base: number];

/** Lays out and then writes the compact columns of one frame. */
class ColumnWriter {
  private bytes = 0;
  private readonly todo: Array<[ColumnRef, Float64Array, number, number, number]> = [];
  /** Plans the column `src[from + i·stride]`, i < n; returns its header reference. */
  add(src: Float64Array, from: number, stride: number, n: number): ColumnRef {
    const [form, base] = columnForm(src, from, stride, n);
    const offset = form === 0 ? 0 : (this.bytes + form - 1) & ~(form - 1);
    if (form !== 0) this.bytes = offset + form * n;
    const ref: ColumnRef = [form, offset, base];
    this.todo.push([ref, src, from, stride, n]);
    return ref;
  }
  get size(): number {
    return (this.bytes + 7) & ~7;
  }
  /** Writes the planned columns into `data` (8-byte aligned, `size` bytes). */
  write(data: ArrayBufferLike, at: number): void {
    for (const [[form, offset, base], src, from, stride, n] of this.todo) {
      if (form === 0) continue;
      if (form === 8) {
        const out = new Float64Array(data, at + offset, n);
        for (let i = 0, j = from; i < n; i++, j += stride) out[i] = src[j]!;
        continue;
      }
      const out = uintView(form, data, at + offset, n);
      const nan = NAN_CODE[form];
      for (let i = 0, j = from; i < n; i++, j += stride) {
        const v = src[j]!;
        out[i] = Number.isNaN(v) ? nan : v - base;
      }
    }
  }
}

/** Reads column `ref` of `n` values into `out[into + i·stride]`. */
function readColumn(
  data: ArrayBufferLike,
  ref: unknown,
  n: number,
  out: Float64Array,
  into: number,
  stride: number,
  what: string,
): void {
  if (!Array.isArray(ref) || ref.length !== 3 || !ref.every((x) => typeof x === 'number')) {
    throw new InternalError(`repartition frame: ${what} has no column reference`);
  }
  const [form, offset, base] = ref as ColumnRef;
  if (form === 0) {
    for (let i = 0, j = into; i < n; i++, j += stride) out[j] = Number.NaN;
    return;
  }
  if ((form !== 1 && form !== 2 && form !== 4 && form !== 8) || offset % form !== 0) {
    throw new InternalError(`repartition frame: ${what} has form ${form} at ${offset}`);
  }
  if (offset + form * n > data.byteLength) throw new InternalError(`repartition frame: ${what} is truncated`);
  if (form === 8) {
    const src = new Float64Array(data, offset, n);
    for (let i = 0, j = into; i < n; i++, j += stride) out[j] = src[i]!;
    return;
  }
  const src = uintView(form, data, offset, n);
  const nan = NAN_CODE[form];
  for (let i = 0, j = into; i < n; i++, j += stride) {
    const c = src[i]!;
    out[j] = c === nan ? Number.NaN : base + c;
  }
}

type Wire = number | string | null | boolean | Wire[] | { [k: string]: Wire };

function encNum(n: number): number | string {
  if (Number.isFinite(n)) return n;
  if (Number.isNaN(n)) return 'nan';
  return n > 0 ? '+inf' : '-inf';
}

function decNum(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (v === 'nan') return Number.NaN;
  if (v === '+inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  throw new InternalError(`repartition frame: ${what} is not a number (${JSON.stringify(v)})`);
}

/**
 * Serializes a frame for the repartition topic: a 4-byte big-endian header length, a JSON header
 * (positions, clocks, dead letters, each branch's non-numeric fields such as `dict`, and a
 * reference per numeric column), then the columns, 8-byte aligned as a whole. Each column takes
 * the narrowest exact form of its values ({@link ColumnForm}); `values` is stored field by field
 * (field j of every record, then field j + 1), so a field that is NaN in every record of the
 * frame costs nothing and small integer fields (flags, counts, dictionary indices) a byte or
 * two. Decoding gives back the same Float64 bits, NaN and ±∞ included.
 */
export function encodeFrame(f: RepartitionFrame): Buffer {
  const cols = new ColumnWriter();
  const branches = f.branches.map((b) => {
    if (b === null || b === undefined) return null;
    const o: Record<string, Wire> = {};
    for (const [k, v] of Object.entries(b)) {
      if (!(v instanceof Float64Array)) o[k] = v as Wire;
      else if (k === 'values') {
        const w = b.width;
        o[k] = { cs: Array.from({ length: w }, (_, j) => cols.add(v, j, w, b.count)) };
      } else o[k] = { c: cols.add(v, 0, 1, v.length), n: v.length };
    }
    return o;
  });
  const header: Record<string, Wire> = {
    v: VERSION,
    p: f.partition,
    l: f.last,
    b: encNum(f.base),
    e: encNum(f.end),
    br: branches,
  };
  if (f.eof) header.eof = true;
  if (f.deadLetters.length > 0) header.dl = f.deadLetters as unknown as Wire;
  if (f.raws !== undefined && f.raws.length > 0) header.rw = f.raws as unknown as Wire;
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = (4 + head.length + 7) & ~7;
  const out = Buffer.alloc(dataStart + cols.size);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  cols.write(out.buffer, out.byteOffset + dataStart);
  return out;
}

/**
 * Parses a frame; throws {@link InternalError} for anything that is not a frame of version 3 or
 * 2 (a version-2 frame, written before an upgrade, has its string keys and attributes turned
 * into the dictionary form).
 */
export function decodeFrame(buf: Buffer): RepartitionFrame {
  if (buf.length < 4) throw new InternalError(`repartition frame of ${buf.length} bytes`);
  const headLen = buf.readUInt32BE(0);
  if (4 + headLen > buf.length) throw new InternalError('repartition frame header is truncated');
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(buf.toString('utf8', 4, 4 + headLen)) as Record<string, unknown>;
  } catch (cause) {
    throw new InternalError('repartition frame header is not JSON', { cause });
  }
  if (o === null || typeof o !== 'object' || (o.v !== VERSION && o.v !== 3 && o.v !== 2)) {
    throw new InternalError(`repartition frame has version ${JSON.stringify(o?.v)}, expected ${VERSION}`);
  }
  if (!Number.isSafeInteger(o.p) || !Number.isSafeInteger(o.l) || !Array.isArray(o.br)) {
    throw new InternalError('repartition frame lacks its partition, last offset or branches');
  }
  const dataStart = (4 + headLen + 7) & ~7;
  if (o.v === VERSION) {
    // One aligned copy of the data section: the message's bytes may sit at any offset.
    const data = buf.buffer.slice(
      buf.byteOffset + Math.min(dataStart, buf.length),
      buf.byteOffset + buf.length,
    );
    return frameOf(
      o,
      (o.br as unknown[]).map((b, i) => (b === null ? null : compactBranch(b, data, i))),
    );
  }
  const branches = (o.br as unknown[]).map((b, i) => {
    if (b === null) return null;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
      const f64 = (v as { f64?: unknown } | null)?.f64;
      if (Array.isArray(f64) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const [off, len] = f64 as [number, number];
        const start = dataStart + off;
        if (start + len * 8 > buf.length)
          throw new InternalError(`repartition frame: branch ${i} ${k} is truncated`);
        // Copy into a fresh (aligned) buffer: the message's bytes may sit at any offset.
        const ab = buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + len * 8);
        out[k] = new Float64Array(ab);
      } else {
        out[k] = v;
      }
    }
    if (o.v === 2) withDictionary(out);
    return out as unknown as EncodedBranch;
  });
  return frameOf(o, branches);
}

/** A version-4 branch: its numeric columns read back into Float64Arrays. */
function compactBranch(b: unknown, data: ArrayBufferLike, i: number): EncodedBranch {
  const out: Record<string, unknown> = {};
  const src = b as Record<string, unknown>;
  const count = src.count;
  const width = src.width;
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(width)) {
    throw new InternalError(`repartition frame: branch ${i} lacks its count or width`);
  }
  for (const [k, v] of Object.entries(src)) {
    const col = v as { c?: unknown; n?: unknown; cs?: unknown } | null;
    if (col !== null && typeof col === 'object' && Array.isArray(col.cs)) {
      const n = count as number;
      const w = width as number;
      if (col.cs.length !== w)
        throw new InternalError(`repartition frame: branch ${i} ${k} has ${col.cs.length} of ${w} fields`);
      const values = new Float64Array(n * w);
      for (const [j, ref] of col.cs.entries())
        readColumn(data, ref, n, values, j, w, `branch ${i} ${k}[${j}]`);
      out[k] = values;
    } else if (col !== null && typeof col === 'object' && !Array.isArray(col) && col.c !== undefined) {
      if (!Number.isSafeInteger(col.n))
        throw new InternalError(`repartition frame: branch ${i} ${k} has no length`);
      const column = new Float64Array(col.n as number);
      readColumn(data, col.c, col.n as number, column, 0, 1, `branch ${i} ${k}`);
      out[k] = column;
    } else out[k] = v;
  }
  return out as unknown as EncodedBranch;
}

/** The frame fields around its branches. */
function frameOf(
  o: Record<string, unknown>,
  branches: ReadonlyArray<EncodedBranch | null>,
): RepartitionFrame {
  return {
    partition: o.p as number,
    last: o.l as number,
    base: decNum(o.b, 'base'),
    end: decNum(o.e, 'end'),
    eof: o.eof === true,
    branches,
    deadLetters: Array.isArray(o.dl) ? (o.dl as FrameDeadLetter[]) : [],
    ...(Array.isArray(o.rw) ? { raws: o.rw as Array<[number, string]> } : {}),
  };
}

/** A version-2 branch (string `keys` and `attrs`) in the dictionary form. */
function withDictionary(b: Record<string, unknown>): void {
  const dict = new StringDictionary();
  b.keys = Float64Array.from(b.keys as string[], (s) => dict.id(s));
  b.attrs = Float64Array.from(b.attrs as string[], (s) => dict.id(s));
  b.dict = dict.strings;
}

/**
 * Keeps the records `i` of a branch for which `keep(i)` holds (the other columns follow). Every
 * per-record column is sliced by the record count it holds: `count` entries, or `count × width`
 * for `values`, or `count × k` for any other flattened column (e.g. `attrs`).
 */
export function filterBranch(b: EncodedBranch, keep: (i: number) => boolean): EncodedBranch {
  const idx: number[] = [];
  for (let i = 0; i < b.count; i++) if (keep(i)) idx.push(i);
  if (idx.length === b.count) return b;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) {
    if (k === 'count') {
      out[k] = idx.length;
      continue;
    }
    if (k === 'dict') {
      out[k] = v; // not per record: the kept records' indices still point into it
      continue;
    }
    const len = ArrayBuffer.isView(v) ? (v as Float64Array).length : Array.isArray(v) ? v.length : -1;
    if (len < 0 || b.count === 0 || len % b.count !== 0) {
      out[k] = v;
      continue;
    }
    const per = len / b.count;
    if (Array.isArray(v)) {
      const arr: unknown[] = [];
      for (const i of idx) for (let j = 0; j < per; j++) arr.push(v[i * per + j]);
      out[k] = arr;
    } else {
      const src = v as Float64Array;
      const Ctor = src.constructor as new (n: number) => Float64Array;
      const arr = new Ctor(idx.length * per);
      let n = 0;
      for (const i of idx) for (let j = 0; j < per; j++) arr[n++] = src[i * per + j]!;
      out[k] = arr;
    }
  }
  return out as unknown as EncodedBranch;
}
