import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileDriver } from './file-driver.js';

const dir = mkdtempSync(join(tmpdir(), 'featurestream-file-driver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FileDriver', () => {
  const path = join(dir, 'in.ndjson');
  writeFileSync(path, 'a\nbb\n\nccc\ndddd\n');

  it('has one part and reads it from a position, keeping the lines of retained batches', async () => {
    const d = new FileDriver(path, 2, () => undefined);
    expect(d.parts()).toEqual([0]);
    expect(d.totalBytes).toBe(15);
    const from = { offset: 5, line: 2 }; // after 'a\nbb\n'
    const batches = [];
    for await (const b of d.read(0, from)) batches.push(d.retain(b));
    expect(batches.map((b) => b.batch.firstLine)).toEqual([2, 4]);
    expect(d.lineAt(3)).toEqual({ offset: 6, raw: 'ccc' });
    expect(batches.at(-1)!.batch.end).toEqual({ offset: 15, line: 5 });
    d.release(batches[0]!);
    expect(d.lineAt(3)).toBeNull(); // released: its bytes go to the next batch
    expect(d.lineAt(4)).toEqual({ offset: 10, raw: 'dddd' });
  });

  it('encodes a position as the shards keep it, and refuses one that is not a position', () => {
    const d = new FileDriver(path, 2, () => undefined);
    const e = d.encodePosition({ offset: 10, line: 4 });
    expect(e).toEqual({ offset: '10', meta: '4' });
    expect(d.decodePosition(e)).toEqual({ offset: 10, line: 4 });
    expect(d.decodePosition({ offset: 'x', meta: '4' })).toBeNull();
    expect(d.decodePosition(null)).toBeNull();
    expect(d.start()).toEqual({ offset: 0, line: 0 });
  });

  it('names a missing input', () => {
    expect(() => new FileDriver(join(dir, 'missing'), 2, () => undefined)).toThrow(/--input: no such file/);
  });
});
