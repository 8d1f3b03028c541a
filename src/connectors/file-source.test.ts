import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ByteBatch,
  lineOf,
  readByteBatches,
  readLines,
  SharedBatchBuffers,
  linesAt,
} from './file-source.js';

const dir = mkdtempSync(join(tmpdir(), 'fs-file-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Lines of varied length (some over the 1 MiB read chunk boundaries), CRLF, blanks and multi-byte text. */
function sample(): { text: string; lines: string[] } {
  const lines: string[] = [];
  for (let i = 0; i < 6000; i++) {
    if (i % 97 === 0) lines.push('');
    else if (i % 89 === 0) lines.push(`{"i":${i},"t":"prompt ü€😀 ${'ж'.repeat(i % 300)}"}`);
    else lines.push(`{"i":${i},"pad":"${'x'.repeat((i * 37) % 900)}"}`);
  }
  // Every fifth line ends in CRLF; the file ends without a newline.
  const text = lines
    .map((l, i) => (i === lines.length - 1 ? l : i % 5 === 0 ? `${l}\r\n` : `${l}\n`))
    .join('');
  return { text, lines };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('readByteBatches', () => {
  const { text, lines } = sample();
  const file = join(dir, 'sample.ndjson');
  writeFileSync(file, text);
  writeFileSync(`${file}.gz`, gzipSync(text));

  it.each([file, `${file}.gz`])(
    'gives the same lines, offsets and positions as the text of %s',
    async (path) => {
      const batches = await collect(readByteBatches(path, { offset: 0, line: 0 }, 700));
      const got = batches.flatMap((b) => Array.from({ length: b.count }, (_, i) => lineOf(b, i)));
      expect(got).toEqual(lines);
      // What a worker decodes from the batch's bytes and bounds (shared memory, recycled): the same lines.
      expect(batches.flatMap((b) => linesAt(b.bytes, b.starts, b.ends))).toEqual(lines);
      expect(batches.map((b) => b.firstLine)).toEqual(batches.map((_, i) => i * 700));
      const bytes = Buffer.from(text);
      const offsets = batches.flatMap((b) => b.offsets);
      expect(offsets[0]).toBe(0);
      for (let i = 1; i < offsets.length; i++) expect(bytes[offsets[i]! - 1]).toBe(10);
      expect(batches.at(-1)!.end).toEqual({ offset: bytes.length, line: lines.length });
    },
  );

  it('resumes at a batch end as if read from the start', async () => {
    const all = await collect(readByteBatches(file, { offset: 0, line: 0 }, 1000));
    const mid: ByteBatch = all[2]!;
    const rest = await collect(readByteBatches(file, mid.end, 1000));
    const tail = (bs: ByteBatch[]) => bs.flatMap((b) => linesAt(b.bytes, b.starts, b.ends));
    expect(tail(rest)).toEqual(tail(all.slice(3)));
    expect(rest[0]!.offsets[0]).toBe(all[3]!.offsets[0]);
  });

  it('readLines yields the same lines as strings', async () => {
    const batches = await collect(readLines(file, { offset: 0, line: 0 }, 512));
    expect(batches.flatMap((b) => b.lines)).toEqual(lines);
  });

  it('lines across read chunks: a CR ending one chunk, a chunk without a newline; recycled buffers', async () => {
    const MiB = 1 << 20;
    const first = `{"a":"${'x'.repeat(MiB - 9)}"}`; // with its CR, exactly the first 1 MiB read chunk
    expect(first.length + 1).toBe(MiB);
    const lines = [
      first,
      `{"b":"${'y'.repeat(1.9 * MiB)}"}`, // ends in the third chunk
      `{"c":"${'z'.repeat(1.5 * MiB)}"}`, // holds the whole fourth chunk (no newline in it)
      '{"d":1}',
      '',
      '{"e":"ü"}',
    ];
    const text = `${lines[0]}\r\n${lines.slice(1).join('\n')}\n`;
    const path = join(dir, 'chunks.ndjson');
    writeFileSync(path, text);
    const buffers = new SharedBatchBuffers();
    const got: string[] = [];
    const offsets: number[] = [];
    for await (const b of readByteBatches(path, { offset: 0, line: 0 }, 2, undefined, buffers)) {
      const split = linesAt(b.bytes, b.starts, b.ends);
      expect(split).toHaveLength(b.count);
      got.push(...split);
      offsets.push(...b.offsets);
      buffers.recycle(b.bytes); // the next batches reuse it: what was read stays right
    }
    expect(got).toEqual(lines);
    const bytes = Buffer.from(text);
    const starts = [0];
    for (let i = bytes.indexOf(10); i >= 0 && i < bytes.length - 1; i = bytes.indexOf(10, i + 1))
      starts.push(i + 1);
    expect(offsets).toEqual(starts);
  });
});
