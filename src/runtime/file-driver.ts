import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type ByteBatch,
  type FilePosition,
  lineOf,
  readByteBatches,
  SharedBatchBuffers,
} from '../connectors/file-source.js';
import { ConfigError, type InputError } from '../shared/errors.js';
import type { EncodedPosition, SourceDriver } from './source-driver.js';

/** A batch read and not yet released by every shard its records went to. */
export interface RetainedBatch {
  readonly batch: ByteBatch;
  refs: number;
}

/**
 * The file driver: one part (0) whose position is a byte offset (of the decompressed stream for
 * .gz) and a line number. It reads batches of lines as bytes, keeps each batch until every shard
 * its records went to has answered (a late event's raw text is read from it), and recycles the
 * memory of released batches for the next ones.
 *
 * @example
 * const driver = new FileDriver('events.ndjson', 2048, (err) => { damaged = err; });
 * for await (const batch of driver.read(0, driver.start(0))) driver.retain(batch);
 */
export class FileDriver implements SourceDriver<FilePosition, AsyncIterable<ByteBatch>> {
  /** The input's absolute path (what dead letters and late events name as their source). */
  readonly source: string;
  readonly totalBytes: number;
  private readonly retained = new Map<number, RetainedBatch>();
  private readonly buffers = new SharedBatchBuffers();

  constructor(
    readonly input: string,
    private readonly batchLines: number,
    private readonly onDamage: (err: InputError) => void,
  ) {
    if (!existsSync(input)) throw new ConfigError(`--input: no such file: ${input}`, { field: '--input' });
    this.totalBytes = statSync(input).size;
    this.source = resolve(input);
  }

  parts(): readonly number[] {
    return [0];
  }

  start(): FilePosition {
    return { offset: 0, line: 0 };
  }

  read(_part: number, from: FilePosition): AsyncIterable<ByteBatch> {
    return readByteBatches(this.input, from, this.batchLines, this.onDamage, this.buffers);
  }

  encodePosition(p: FilePosition): EncodedPosition {
    return { offset: String(p.offset), meta: String(p.line) };
  }

  decodePosition(e: EncodedPosition | null | undefined): FilePosition | null {
    if (e === null || e === undefined || e.meta === null) return null;
    const offset = Number(e.offset);
    const line = Number(e.meta);
    return Number.isSafeInteger(offset) && Number.isSafeInteger(line) ? { offset, line } : null;
  }

  /** Keeps a batch until {@link release}d as many times as it is retained (once here). */
  retain(batch: ByteBatch): RetainedBatch {
    const r: RetainedBatch = { batch, refs: 1 };
    this.retained.set(batch.firstLine, r);
    return r;
  }

  /** One holder is done with the batch; the last one frees it (its bytes hold the next batch). */
  release(b: RetainedBatch): void {
    if (--b.refs > 0) return;
    this.retained.delete(b.batch.firstLine);
    this.buffers.recycle(b.batch.bytes);
  }

  /** Line `n` (0-based) of a retained batch: its byte offset and text; null when not retained. */
  lineAt(n: number): { offset: number; raw: string } | null {
    const b = this.batchOf(n)?.batch;
    if (b === undefined) return null;
    const i = n - b.firstLine;
    return { offset: b.offsets[i]!, raw: lineOf(b, i) };
  }

  private batchOf(n: number): RetainedBatch | undefined {
    // Batches start at multiples of the batch size unless a restart changed it: try that first.
    const guess = this.retained.get(n - (n % this.batchLines));
    if (guess !== undefined && n < guess.batch.firstLine + guess.batch.count) return guess;
    for (const b of this.retained.values()) {
      if (n >= b.batch.firstLine && n < b.batch.firstLine + b.batch.count) return b;
    }
    return undefined;
  }
}
