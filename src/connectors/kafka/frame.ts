import type { EncodedBranch } from '../../runtime/protocol.js';
import { InternalError } from '../../errors.js';
import { StringDictionary } from '../../runtime/string-dictionary.js';

/**
 * Repartition frames: what the source stage sends a shard through the repartition topic.
 *
 * A frame carries the records of one source batch that route to one shard (one partition of the
 * repartition topic), already decoded, filtered and mapped, in the decode stage's columns
 * ({@link EncodedBranch}, one per keyed branch) — records travel in batches, as between the
 * coordinator and its shard actors, not one Kafka message per record. `refs` hold the records'
 * offsets in their source partition, so a shard can drop what it has already seen (replays after
 * a crash or a rebalance) record by record, and report late records by source position.
 *
 * Every source batch sends a frame to *every* shard, even one with no records: it carries the
 * source partition's event-time progress (`end`), like a watermark broadcast in Flink, so a
 * shard's clock can advance on partitions whose records all went elsewhere, and the end of a
 * bounded input (`eof`).
 *
 * The wire form (version 3) is a small JSON header (with each branch's dictionary of distinct
 * keys and attribute values) followed by the numeric columns — key and attribute indices
 * included — as raw Float64 bytes; see {@link encodeFrame}.
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

/** Version 3: keys and attributes as indices into a per-branch dictionary (version 2: as strings, still read). */
const VERSION = 3;

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
 * (positions, clocks, dead letters, and each branch's non-numeric columns such as `keys`), then
 * the branches' Float64Array columns as raw little-endian bytes, each 8-byte aligned (the header
 * names each column's byte offset and length). Numeric columns cost no text encoding and keep
 * NaN and ±∞ as they are.
 */
export function encodeFrame(f: RepartitionFrame): Buffer {
  const blocks: Float64Array[] = [];
  let bytes = 0;
  const branches = f.branches.map((b) => {
    if (b === null || b === undefined) return null;
    const o: Record<string, Wire> = {};
    for (const [k, v] of Object.entries(b)) {
      if (v instanceof Float64Array) {
        o[k] = { f64: [bytes, v.length] };
        blocks.push(v);
        bytes += v.length * 8;
      } else {
        o[k] = v as Wire;
      }
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
  const out = Buffer.alloc(dataStart + bytes);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  let at = dataStart;
  for (const block of blocks) {
    const src = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    src.copy(out, at);
    at += block.byteLength;
  }
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
  if (o === null || typeof o !== 'object' || (o.v !== VERSION && o.v !== 2)) {
    throw new InternalError(`repartition frame has version ${JSON.stringify(o?.v)}, expected ${VERSION}`);
  }
  if (!Number.isSafeInteger(o.p) || !Number.isSafeInteger(o.l) || !Array.isArray(o.br)) {
    throw new InternalError('repartition frame lacks its partition, last offset or branches');
  }
  const dataStart = (4 + headLen + 7) & ~7;
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
