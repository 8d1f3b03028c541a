/**
 * A faster decoder for the records of a fetched Kafka record batch, in kafkajs' place.
 *
 * kafkajs 2.2.4 decodes every record with `Long` arithmetic for its offset and timestamp (a
 * varlong is read as one `Long` per byte) and builds its headers object by spreading it once per
 * header. On the Kafka member's main thread that was the largest single function of a profile
 * (`bench:kafka`, 150,000 collector events with three headers each). This decoder gives the same
 * record objects — the same fields, string offsets and timestamps, header `Buffer`s, repeated
 * header keys as arrays — with plain numbers where they are exact (below 2^53) and kafkajs' own
 * `Long` path otherwise.
 *
 * kafkajs keeps the record decoder as a module its batch decoder captures when it loads, so it
 * can only be put in place before the first fetch of the process: {@link useFastRecordDecoder}
 * (called by `kafkaClient`) replaces the module's export with a switch, and
 * {@link selectRecordDecoder} picks either decoder afterwards (`bench:kafka` measures its
 * baseline with kafkajs' own).
 */
import { createRequire } from 'node:module';
import { InternalError } from '../../shared/errors.js';

const require = createRequire(import.meta.url);

/** The part of kafkajs' `Decoder` a record is read with. */
interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): KafkaLong;
  readVarIntString(): string | null;
  readVarIntBytes(): Buffer | null;
}

/** kafkajs' `Long` (its copy of long.js), as far as it is used here. */
interface KafkaLong {
  add(other: KafkaLong | number | string): KafkaLong;
  toString(): string;
}
interface KafkaLongStatic {
  fromValue(v: unknown): KafkaLong;
}

/** What kafkajs' batch decoder passes with each record. */
interface BatchContext {
  readonly firstOffset?: string;
  readonly firstTimestamp?: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
  readonly maxTimestamp?: string;
}

type RecordDecoder = (decoder: KafkaDecoder, batchContext?: BatchContext) => unknown;

const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
const BATCH_MODULE = 'kafkajs/src/protocol/recordBatch/v0/decoder.js';
const LOG_APPEND_TIME = (require('kafkajs/src/protocol/timestampTypes.js') as { LOG_APPEND_TIME: number })
  .LOG_APPEND_TIME;
const Long = require('kafkajs/src/utils/long.js') as KafkaLongStatic;

/** The batch the cached numbers below belong to (every record of a batch shares its context). */
let cachedContext: BatchContext | null = null;
let firstOffsetN = Number.NaN;
let firstTimestampN = Number.NaN;

/** A decimal string as an exact number, or NaN when it is not one below 2^53. */
function exactNumber(s: string | undefined): number {
  if (s === undefined) return Number.NaN;
  const n = Number(s);
  return Number.isSafeInteger(n) && String(n) === s ? n : Number.NaN;
}

/**
 * A zigzag varlong as a number, when it fits in 7 bytes (|value| < 2^48); otherwise NaN and the
 * decoder is left where it was (the caller reads it with kafkajs' `readVarLong`).
 */
function readSmallVarLong(d: KafkaDecoder): number {
  const buf = d.buffer;
  let at = d.offset;
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const b = buf[at++]!;
    raw += (b & 0x7f) * scale;
    if (b < 0x80) {
      d.offset = at;
      // Zigzag: even → raw / 2, odd → −(raw + 1) / 2.
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    scale *= 128;
  }
  return Number.NaN;
}

/**
 * Header keys seen lately, by their bytes: a topic's records repeat the same few keys, so each
 * is decoded to a string once (the same bytes always give the same string).
 */
const headerKeys: Array<{ readonly bytes: Buffer; readonly text: string }> = [];
const MAX_HEADER_KEYS = 16;

/** The header key of `length` bytes at `at` (kafkajs: `null` for length −1, as the key "null"). */
function headerKey(buf: Buffer, at: number, length: number): string {
  if (length < 0) return 'null';
  for (let j = 0; j < headerKeys.length; j++) {
    const known = headerKeys[j]!;
    const kb = known.bytes;
    if (kb.length !== length) continue;
    let same = true;
    for (let i = 0; i < length; i++) {
      if (kb[i] !== buf[at + i]) {
        same = false;
        break;
      }
    }
    if (same) return known.text;
  }
  const text = buf.toString('utf8', at, at + length);
  if (headerKeys.length < MAX_HEADER_KEYS)
    headerKeys.push({ bytes: Buffer.from(buf.subarray(at, at + length)), text });
  return text;
}

/**
 * kafkajs' header fold for a key already present (or inherited, such as `toString`): the values
 * collect in an array, in order; `__proto__` becomes an own property, as kafkajs' spread makes it.
 */
function foldHeader(headers: Record<string, unknown>, k: string, value: Buffer | null): void {
  const prev = headers[k];
  const next = prev === undefined ? value : Array.isArray(prev) ? prev.concat([value]) : [prev, value];
  if (k === '__proto__')
    Object.defineProperty(headers, k, { value: next, enumerable: true, writable: true, configurable: true });
  else headers[k] = next;
}

/** Decodes one record as kafkajs 2.2.4's `record/v0/decoder` does (see the module comment). */
export function decodeRecord(decoder: KafkaDecoder, batchContext: BatchContext = {}): unknown {
  const {
    firstOffset,
    firstTimestamp,
    magicByte,
    isControlBatch = false,
    timestampType,
    maxTimestamp,
  } = batchContext;
  if (batchContext !== cachedContext) {
    cachedContext = batchContext;
    firstOffsetN = exactNumber(firstOffset);
    firstTimestampN = exactNumber(firstTimestamp);
  }
  const attributes = decoder.readInt8();

  let timestamp: string;
  let delta = readSmallVarLong(decoder);
  const deltaLong = Number.isNaN(delta) ? decoder.readVarLong() : null;
  if (timestampType === LOG_APPEND_TIME && maxTimestamp) timestamp = maxTimestamp;
  else if (deltaLong === null && Number.isSafeInteger(firstTimestampN + delta))
    timestamp = String(firstTimestampN + delta);
  else
    timestamp = Long.fromValue(firstTimestamp)
      .add(deltaLong ?? delta)
      .toString();

  delta = decoder.readVarInt();
  const offset = Number.isSafeInteger(firstOffsetN + delta)
    ? String(firstOffsetN + delta)
    : Long.fromValue(firstOffset).add(delta).toString();

  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers: Record<string, unknown> = {};
  const n = decoder.readVarInt();
  const buf = decoder.buffer;
  for (let i = 0; i < n; i++) {
    const keyLength = decoder.readVarInt();
    const k = headerKey(buf, decoder.offset, keyLength);
    if (keyLength > 0) decoder.offset += keyLength;
    const v = decoder.readVarIntBytes();
    if (headers[k] === undefined && k !== '__proto__') headers[k] = v;
    else foldHeader(headers, k, v);
  }
  return {
    magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: isControlBatch,
    batchContext,
  };
}

/**
 * What kafkajs' batch decoder calls once {@link useFastRecordDecoder} put it in place: whichever
 * decoder is selected. It lives in kafkajs' module cache, so its state is the process's, whatever
 * copy of this module (a test runner may load several) selects.
 */
interface RecordSwitch extends RecordDecoder {
  /** kafkajs' own decoder. */
  readonly kafkajs: RecordDecoder;
  current: RecordDecoder;
}

function installedSwitch(): RecordSwitch | null {
  const m: unknown = require.cache[require.resolve(RECORD_MODULE)]?.exports;
  if (typeof m !== 'function') return null;
  const installed = m as RecordSwitch;
  return typeof installed.kafkajs === 'function' ? installed : null;
}

/**
 * Puts {@link decodeRecord} in place of kafkajs' record decoder for every kafkajs client of this
 * process. Returns false, and changes nothing, when kafkajs already decoded a fetched batch in
 * this process with its own (its batch decoder holds it from then on). Idempotent.
 *
 * @example
 * useFastRecordDecoder(); // before the first fetch
 * const kafka = new Kafka({ brokers: ['127.0.0.1:9092'] });
 */
export function useFastRecordDecoder(): boolean {
  const installed = installedSwitch();
  if (installed !== null) {
    installed.current = decodeRecord;
    return true;
  }
  if (require.cache[require.resolve(BATCH_MODULE)] !== undefined) return false;
  const recordPath = require.resolve(RECORD_MODULE);
  const kafkajs = require(recordPath) as RecordDecoder;
  const select: RecordSwitch = Object.assign(
    (d: KafkaDecoder, ctx?: BatchContext) => select.current(d, ctx),
    {
      kafkajs,
      current: decodeRecord,
    },
  );
  require.cache[recordPath]!.exports = select;
  return true;
}

/**
 * Picks the decoder kafkajs uses from now on, once {@link useFastRecordDecoder} succeeded:
 * `kafkajs` is its own (a benchmark's baseline), `featurestream` this module's.
 */
export function selectRecordDecoder(which: 'kafkajs' | 'featurestream'): void {
  const installed = installedSwitch();
  if (installed === null)
    throw new InternalError(
      'selectRecordDecoder: the record decoder switch is not in place (call useFastRecordDecoder first)',
    );
  installed.current = which === 'kafkajs' ? installed.kafkajs : decodeRecord;
}

/** kafkajs' own record decoder, whether or not the switch is in place (tests compare the two). */
export function kafkajsRecordDecoder(): RecordDecoder {
  return installedSwitch()?.kafkajs ?? (require(RECORD_MODULE) as RecordDecoder);
}
