import { afterEach, describe, expect, it } from 'vitest';
import { FeaturestreamError } from '../src/shared/errors.js';
import type { BatchOp, StateBackend } from './backend.js';

/** What a conformance run needs: an unopened backend, and a way to get a new unopened one over the same data. */
export interface BackendUnderTest {
  readonly backend: StateBackend;
  readonly reopen: () => Promise<StateBackend>;
}

async function collect(db: StateBackend, prefix: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [k, v] of db.entries(prefix)) out.push([k, v]);
  return out;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Declares a vitest suite every {@link StateBackend} must pass. `make` is called once per test
 * and returns an unopened backend over fresh, empty storage plus `reopen`, which returns a new
 * unopened backend over the same storage (for the memory backend: over the same Map).
 * The suite opens and closes what it gets.
 *
 * @example
 * runBackendConformance('memory', async () => {
 *   const data = new Map<string, string>();
 *   return { backend: new MemoryBackend(data), reopen: async () => new MemoryBackend(data) };
 * });
 */
export function runBackendConformance(name: string, make: () => Promise<BackendUnderTest>): void {
  describe(`StateBackend conformance: ${name}`, () => {
    const opened: StateBackend[] = [];

    async function fresh(): Promise<BackendUnderTest & { db: StateBackend }> {
      const made = await make();
      await made.backend.open();
      opened.push(made.backend);
      return { ...made, db: made.backend };
    }

    async function reopen(made: BackendUnderTest, current: StateBackend): Promise<StateBackend> {
      await current.close();
      const next = await made.reopen();
      await next.open();
      opened.push(next);
      return next;
    }

    afterEach(async () => {
      for (const db of opened.splice(0)) await db.close();
    });

    it('get of a missing key is undefined', async () => {
      const { db } = await fresh();
      expect(await db.get('nope')).toBeUndefined();
      expect(await collect(db, '')).toEqual([]);
    });

    it('put then get', async () => {
      const { db } = await fresh();
      await db.batch([{ type: 'put', key: 'a', value: '1' }]);
      expect(await db.get('a')).toBe('1');
    });

    it('empty values and the empty prefix', async () => {
      const { db } = await fresh();
      await db.batch([{ type: 'put', key: 'k', value: '' }]);
      expect(await db.get('k')).toBe('');
      expect(await collect(db, '')).toEqual([['k', '']]);
    });

    it('del removes a key; deleting a missing key is fine', async () => {
      const { db } = await fresh();
      await db.batch([{ type: 'put', key: 'a', value: '1' }]);
      await db.batch([
        { type: 'del', key: 'a' },
        { type: 'del', key: 'never-there' },
      ]);
      expect(await db.get('a')).toBeUndefined();
      expect(await collect(db, '')).toEqual([]);
    });

    it('overwrite replaces the value', async () => {
      const { db } = await fresh();
      await db.batch([{ type: 'put', key: 'a', value: '1' }]);
      await db.batch([{ type: 'put', key: 'a', value: '2' }]);
      expect(await db.get('a')).toBe('2');
      expect(await collect(db, 'a')).toEqual([['a', '2']]);
    });

    it('within one batch, later operations on a key win', async () => {
      const { db } = await fresh();
      await db.batch([
        { type: 'put', key: 'a', value: '1' },
        { type: 'del', key: 'a' },
        { type: 'put', key: 'b', value: '1' },
        { type: 'put', key: 'b', value: '2' },
        { type: 'del', key: 'c' },
        { type: 'put', key: 'c', value: '3' },
      ]);
      expect(await collect(db, '')).toEqual([
        ['b', '2'],
        ['c', '3'],
      ]);
    });

    it('a batch is visible all at once when it resolves', async () => {
      const { db } = await fresh();
      const ops: BatchOp[] = Array.from({ length: 100 }, (_, i) => ({
        type: 'put',
        key: `k:${String(i).padStart(3, '0')}`,
        value: String(i),
      }));
      await db.batch(ops);
      expect(await collect(db, 'k:')).toHaveLength(100);
    });

    it('an invalid batch is rejected whole: nothing is applied', async () => {
      const { db } = await fresh();
      await db.batch([{ type: 'put', key: 'keep', value: 'old' }]);
      const bad = [
        { type: 'put', key: 'keep', value: 'new' },
        { type: 'put', key: 'x', value: null },
      ] as unknown as BatchOp[];
      await expect(db.batch(bad)).rejects.toBeInstanceOf(FeaturestreamError);
      const lone = [
        { type: 'put', key: 'keep', value: 'new' },
        { type: 'put', key: 'bad-\ud800', value: '1' },
      ] as BatchOp[];
      await expect(db.batch(lone)).rejects.toMatchObject({ domain: 'internal' });
      expect(await collect(db, '')).toEqual([['keep', 'old']]);
    });

    it('entries by prefix: in key order, nothing from other prefixes', async () => {
      const { db } = await fresh();
      await db.batch([
        { type: 'put', key: 's:b', value: '2' },
        { type: 'put', key: 'r:z', value: 'no' },
        { type: 'put', key: 's:a', value: '1' },
        { type: 'put', key: 's', value: 'no (shorter than prefix)' },
        { type: 'put', key: 's:', value: '0' },
        { type: 'put', key: 's;', value: 'no (next char after :)' },
        { type: 'put', key: 's:a:b', value: '3' },
        { type: 'put', key: 't:a', value: 'no' },
        { type: 'put', key: 'S:a', value: 'no (case)' },
        { type: 'put', key: 's:10', value: '10' },
        { type: 'put', key: 's:9', value: '9' },
      ]);
      expect(await collect(db, 's:')).toEqual([
        ['s:', '0'],
        ['s:10', '10'],
        ['s:9', '9'],
        ['s:a', '1'],
        ['s:a:b', '3'],
        ['s:b', '2'],
      ]);
      expect(await collect(db, 's:a')).toEqual([
        ['s:a', '1'],
        ['s:a:b', '3'],
      ]);
      expect(await collect(db, 'q')).toEqual([]);
      expect(await collect(db, 'zzz')).toEqual([]);
    });

    it('keys with colons, unicode, emoji and control characters round-trip and sort alike', async () => {
      const { db } = await fresh();
      // Chosen so that UTF-16 order (memory) and UTF-8 byte order (LevelDB) agree: they
      // differ only between U+E000..U+FFFF and characters outside the BMP.
      const keys = [
        'u:a',
        'u:a:b:c',
        'u:\u0000',
        'u:\u007f',
        'u:é',
        'u:ü:x',
        'u:中文',
        'u:日本',
        'u:😀',
        'u:😀:🚀',
      ];
      await db.batch(keys.map((key, i) => ({ type: 'put', key, value: `v${i}:ключ:✓` })));
      for (const [i, key] of keys.entries()) expect(await db.get(key)).toBe(`v${i}:ключ:✓`);
      const sorted = [...keys].sort(byCodeUnits);
      expect((await collect(db, 'u:')).map(([k]) => k)).toEqual(sorted);
      expect((await collect(db, 'u:😀')).map(([k]) => k)).toEqual(['u:😀', 'u:😀:🚀']);
      expect((await collect(db, 'u:中')).map(([k]) => k)).toEqual(['u:中文']);
    });

    it('the prefix range includes keys continuing with characters outside the BMP', async () => {
      const { db } = await fresh();
      await db.batch([
        { type: 'put', key: 'p:\uffee', value: 'bmp-high' },
        { type: 'put', key: 'p:😀', value: 'astral' },
        { type: 'put', key: 'p;', value: 'outside' },
      ]);
      expect((await collect(db, 'p:')).map(([, v]) => v).sort()).toEqual(['astral', 'bmp-high']);
    });

    it('entries after a batch that deletes some', async () => {
      const { db } = await fresh();
      await db.batch(['a', 'b', 'c', 'd', 'e'].map((k) => ({ type: 'put', key: `x:${k}`, value: k })));
      await db.batch([
        { type: 'del', key: 'x:b' },
        { type: 'del', key: 'x:e' },
        { type: 'put', key: 'x:f', value: 'f' },
      ]);
      expect(await collect(db, 'x:')).toEqual([
        ['x:a', 'a'],
        ['x:c', 'c'],
        ['x:d', 'd'],
        ['x:f', 'f'],
      ]);
    });

    it('entries reads a snapshot: writes made while iterating are not seen', async () => {
      const { db } = await fresh();
      await db.batch(['a', 'c', 'e'].map((k) => ({ type: 'put', key: `y:${k}`, value: k })));
      const seen: string[] = [];
      for await (const [k] of db.entries('y:')) {
        if (seen.length === 0) {
          await db.batch([
            { type: 'put', key: 'y:d', value: 'd' },
            { type: 'del', key: 'y:e' },
          ]);
        }
        seen.push(k);
      }
      expect(seen).toEqual(['y:a', 'y:c', 'y:e']);
      expect((await collect(db, 'y:')).map(([k]) => k)).toEqual(['y:a', 'y:c', 'y:d']);
    });

    it('breaking out of entries early releases the iterator', async () => {
      const made = await fresh();
      await made.db.batch(['a', 'b', 'c'].map((k) => ({ type: 'put', key: k, value: k })));
      for await (const [k] of made.db.entries('')) if (k === 'a') break;
      const db = await reopen(made, made.db);
      expect(await db.get('c')).toBe('c');
    });

    it('data persists across close and reopen', async () => {
      const made = await fresh();
      await made.db.batch([
        { type: 'put', key: 's:a', value: '1' },
        { type: 'put', key: 's:b', value: '2' },
        { type: 'put', key: 'c:committed', value: '7' },
      ]);
      await made.db.batch([{ type: 'del', key: 's:b' }]);
      const db = await reopen(made, made.db);
      expect(await db.get('s:a')).toBe('1');
      expect(await db.get('s:b')).toBeUndefined();
      expect(await collect(db, '')).toEqual([
        ['c:committed', '7'],
        ['s:a', '1'],
      ]);
    });

    it('open and close are idempotent; use while closed is an internal error', async () => {
      const { db } = await fresh();
      await db.open();
      await db.batch([{ type: 'put', key: 'a', value: '1' }]);
      await db.close();
      await db.close();
      await expect(db.get('a')).rejects.toMatchObject({ domain: 'internal' });
      await expect(db.batch([])).rejects.toMatchObject({ domain: 'internal' });
      await expect(collect(db, '')).rejects.toMatchObject({ domain: 'internal' });
      await db.open();
      expect(await db.get('a')).toBe('1');
    });

    it('a large batch (10k operations) applies whole', async () => {
      const { db } = await fresh();
      const ops: BatchOp[] = [];
      for (let i = 0; i < 8000; i++) {
        ops.push({ type: 'put', key: `big:${String(i).padStart(5, '0')}`, value: 'x'.repeat(i % 50) });
      }
      for (let i = 0; i < 2000; i++) ops.push({ type: 'del', key: `big:${String(i * 4).padStart(5, '0')}` });
      await db.batch(ops);
      const all = await collect(db, 'big:');
      expect(all).toHaveLength(6000);
      expect(all.map(([k]) => k)).toEqual(all.map(([k]) => k).sort(byCodeUnits));
      expect(all[0]).toEqual(['big:00001', 'x']);
      expect(await db.get('big:00004')).toBeUndefined();
    });
  });
}
