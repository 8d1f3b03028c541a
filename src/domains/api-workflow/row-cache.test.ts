import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onlineRow } from '../../stores/online-conformance.js';
import { type OnlineKey, type OnlineStore, openOnlineStore } from '../../stores/online-store.js';
import { CachedRowReader } from './row-cache.js';

// A real embedded online store; the counter only records how many rows reach it.
let dir: string;
let store: OnlineStore;
let asked: number;
const counted = () => ({
  readMany: (keys: readonly OnlineKey[]) => {
    asked += keys.length;
    return store.readMany(keys);
  },
});
const key = (entityId: string): OnlineKey => ({
  entityType: 'model',
  entityId,
  group: 'perf_5min',
  version: 1,
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fs-i11-rows-'));
  store = await openOnlineStore(`embedded:${dir}`);
  asked = 0;
  await store.writeRows([
    onlineRow({ entityId: 'a', values: { latency_p95_5min: 1 } }),
    onlineRow({ entityId: 'b', values: { latency_p95_5min: 2 } }),
  ]);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CachedRowReader', () => {
  it('reads only the rows it does not hold, missing rows included, in the order asked', async () => {
    const rows = new CachedRowReader(counted(), { ttlMs: 60_000 });
    const first = await rows.readMany([key('a'), key('x')]);
    expect(first.map((v) => v?.values.latency_p95_5min ?? null)).toEqual([1, null]);
    expect(asked).toBe(2);
    const second = await rows.readMany([key('b'), key('x'), key('a')]);
    expect(second.map((v) => v?.values.latency_p95_5min ?? null)).toEqual([2, null, 1]);
    expect(asked).toBe(3); // only b
    expect(rows.stats).toMatchObject({ hits: 2, misses: 3 });
  });

  it('an invalidated key is read again and shows the new value', async () => {
    const rows = new CachedRowReader(counted(), { ttlMs: 60_000, keyPrefix: '' });
    await rows.readMany([key('a')]);
    await store.writeRows([
      onlineRow({ entityId: 'a', eventTime: 300_000, values: { latency_p95_5min: 9 } }),
    ]);
    expect((await rows.readMany([key('a')]))[0]?.values.latency_p95_5min).toBe(1); // still the held row
    rows.invalidate(['feature:model:a:perf_5min:v1']);
    expect((await rows.readMany([key('a')]))[0]?.values.latency_p95_5min).toBe(9);
    expect(rows.stats.invalidated).toBe(1);
  });

  it('while inactive it reads through; on again it starts empty', async () => {
    const rows = new CachedRowReader(counted(), { ttlMs: 60_000 });
    await rows.readMany([key('a')]);
    rows.setActive(false);
    await rows.readMany([key('a')]);
    expect(asked).toBe(2);
    rows.setActive(true);
    expect(rows.size).toBe(0);
    await rows.readMany([key('a')]);
    expect(asked).toBe(3);
  });

  it('a read in flight while a key is invalidated is not kept', async () => {
    const rows = new CachedRowReader(counted(), { ttlMs: 60_000 });
    const pending = rows.readMany([key('a')]);
    rows.invalidate(['feature:model:a:perf_5min:v1']);
    await pending;
    expect(rows.size).toBe(0);
  });

  it('ttlMs 0 turns it off', async () => {
    const rows = new CachedRowReader(counted(), { ttlMs: 0 });
    await rows.readMany([key('a')]);
    await rows.readMany([key('a')]);
    expect(asked).toBe(2);
    expect(() => new CachedRowReader(counted(), { ttlMs: -1 })).toThrow(/ttlMs/);
  });
});
