import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/** A position in a file source: the byte offset (of the decompressed stream for .gz) and the line number. */
export interface FilePosition {
  readonly offset: number;
  readonly line: number;
}

/** A batch of lines read from a file source. `lines[i]` is line `firstLine + i` (0-based, blank lines included as ''). */
export interface LineBatch {
  readonly firstLine: number;
  readonly lines: string[];
  /** Byte offset of the start of each line. */
  readonly offsets: number[];
  /** The position right after the batch: where a restart resumes. */
  readonly end: FilePosition;
}

/**
 * Reads an NDJSON file (plain, or gzip when the name ends in `.gz`) in batches of lines,
 * starting at a checkpointed position. A plain file is opened at the byte offset; a gzip
 * stream cannot seek, so it is decompressed from the start and the bytes before the offset
 * are skipped. A final line without a newline is still a line.
 *
 * @example
 * for await (const b of readLines('events.ndjson.gz', { offset: 0, line: 0 }, 2048)) handle(b);
 */
export async function* readLines(
  path: string,
  from: FilePosition,
  batchLines = 2048,
): AsyncGenerator<LineBatch> {
  const gz = path.endsWith('.gz');
  const raw = createReadStream(path, { start: gz ? 0 : from.offset, highWaterMark: 1 << 20 });
  const stream: AsyncIterable<Buffer> = gz ? raw.pipe(createGunzip()) : raw;
  let skip = gz ? from.offset : 0;
  let offset = from.offset;
  let line = from.line;
  let rest: Buffer | null = null;
  let lines: string[] = [];
  let offsets: number[] = [];
  let firstLine = line;

  for await (let chunk of stream) {
    if (skip > 0) {
      if (chunk.length <= skip) {
        skip -= chunk.length;
        continue;
      }
      chunk = chunk.subarray(skip);
      skip = 0;
    }
    const buf: Buffer = rest === null ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      lines.push(buf.toString('utf8', start, end));
      offsets.push(offset);
      offset += nl + 1 - start;
      line++;
      start = nl + 1;
      if (lines.length >= batchLines) {
        yield { firstLine, lines, offsets, end: { offset, line } };
        lines = [];
        offsets = [];
        firstLine = line;
      }
    }
    rest = start < buf.length ? buf.subarray(start) : null;
  }
  if (rest !== null && rest.length > 0) {
    lines.push(rest.toString('utf8'));
    offsets.push(offset);
    offset += rest.length;
    line++;
  }
  if (lines.length > 0) yield { firstLine, lines, offsets, end: { offset, line } };
}
