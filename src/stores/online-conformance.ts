import { afterEach, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import type { OnlineStore } from './online-store.js';

/** Options the suite asks a store for. */
export interface OnlineStoreConfig {
  readonly ttlSecondsByGroup?: Readonly<Record<string, number>>;
}

/** A fresh, empty store; `reopen` (optional) closes it and returns a new store over the same data. */
export interface OnlineStoreUnderTest {
  readonly store: OnlineStore;
  readonly reopen?: () => Promise<OnlineStore>;
  readonly cleanup: () => Promise<void>;
}

/** A windowed perf_5min row of `gpt-4`, with overrides. */
export function onlineRow(overrides: Partial<FeatureRow> = {}): FeatureRow {
  return {
    group: 'perf_5min',
    entityType: 'model',
    entityId: 'gpt-4',
    version: 1,
    windowStart: 0,
    windowEnd: 300_000,
    eventTime: 299_999,
    revision: 0,
    values: { latency_p95_5min: 812, error_rate_5min: null },
    ...overrides,
  };
}

/**
 * Declares the suite every {@link OnlineStore} must pass (Redis and embedded): round trip, null
 * values, newer-wins across and within batches, revisions, provisional rows, TTL per group,
 * batch reads, replay idempotence. `make` is called once per test.
 *
 * @example
 * runOnlineConformance('embedded', async (cfg) => { const store = await EmbeddedOnlineStore.open(dir, cfg); … });
 */
export function runOnlineConformance(
  name: string,
  make: (config: OnlineStoreConfig) => Promise<OnlineStoreUnderTest>,
): void {
  describe(`OnlineStore conformance: ${name}`, () => {
    let current: OnlineStoreUnderTest | null = null;
    const fresh = async (config: OnlineStoreConfig = {}) => {
      current = await make(config);
      return current.store;
    };
    const values = async (s: OnlineStore, entityId = 'gpt-4', group = 'perf_5min', version = 1) =>
      (await s.read('model', entityId, group, version))?.values;

    afterEach(async () => {
      const c = current;
      current = null;
      if (c !== null) await c.cleanup();
    });

    it('writes and reads a row; null values read back as null; other keys are missing', async () => {
      const s = await fresh();
      const before = Date.now();
      await s.writeRows([onlineRow()]);
      const v = await s.read('model', 'gpt-4', 'perf_5min', 1);
      expect(v).not.toBeNull();
      expect(v!.values).toEqual({ latency_p95_5min: 812, error_rate_5min: null });
      expect(v!.eventTime).toBe(299_999);
      expect(v!.revision).toBe(0);
      expect(v!.computedAt).toBeGreaterThanOrEqual(before);
      expect(await s.read('model', 'gpt-4', 'perf_5min', 2)).toBeNull();
      expect(await s.read('model', 'other', 'perf_5min', 1)).toBeNull();
      expect(await s.read('user', 'gpt-4', 'perf_5min', 1)).toBeNull();
    });

    it('newer wins: an older row is ignored, a newer one replaces the whole vector', async () => {
      const s = await fresh();
      await s.writeRows([onlineRow({ eventTime: 599_999, values: { n: 2, m: 1 } })]);
      await s.writeRows([onlineRow({ eventTime: 299_999, values: { n: 1 } })]);
      expect(await values(s)).toEqual({ n: 2, m: 1 });
      await s.writeRows([onlineRow({ eventTime: 899_999, values: { n: 3 } })]);
      expect(await values(s)).toEqual({ n: 3 });
      // Within one batch the order does not matter.
      await s.writeRows([
        onlineRow({ eventTime: 1_199_999, values: { n: 5 } }),
        onlineRow({ eventTime: 999_999, values: { n: 4 } }),
      ]);
      expect(await values(s)).toEqual({ n: 5 });
    });

    it('at the same event time only a higher revision replaces; replays change nothing', async () => {
      const s = await fresh();
      await s.writeRows([onlineRow({ revision: 0, values: { n: 1 } })]);
      await s.writeRows([onlineRow({ revision: 1, values: { n: 2 } })]);
      const first = await s.read('model', 'gpt-4', 'perf_5min', 1);
      await s.writeRows([
        onlineRow({ revision: 1, values: { n: 9 } }),
        onlineRow({ revision: 0, values: { n: 8 } }),
      ]);
      const again = await s.read('model', 'gpt-4', 'perf_5min', 1);
      expect(again).toEqual(first);
      expect(again!.values).toEqual({ n: 2 });
      expect(again!.revision).toBe(1);
    });

    it('a provisional row is replaced by the final row of the same window and revision, not the reverse', async () => {
      const s = await fresh();
      await s.writeRows([onlineRow({ provisional: true, values: { n: 1 } })]);
      expect(await values(s)).toEqual({ n: 1 });
      await s.writeRows([onlineRow({ provisional: true, values: { n: 2 } })]);
      expect(await values(s)).toEqual({ n: 2 });
      await s.writeRows([onlineRow({ values: { n: 3 } })]);
      expect(await values(s)).toEqual({ n: 3 });
      await s.writeRows([onlineRow({ provisional: true, values: { n: 4 } })]);
      expect(await values(s)).toEqual({ n: 3 });
    });

    it('TTL per group: an expired vector reads as missing, another group is unaffected', async () => {
      const s = await fresh({ ttlSecondsByGroup: { fast: 1 } });
      await s.writeRows([onlineRow({ group: 'fast' }), onlineRow({ group: 'slow' })]);
      expect(await s.read('model', 'gpt-4', 'fast', 1)).not.toBeNull();
      await new Promise((r) => setTimeout(r, 1_300));
      expect(await s.read('model', 'gpt-4', 'fast', 1)).toBeNull();
      expect(await s.read('model', 'gpt-4', 'slow', 1)).not.toBeNull();
      // Once expired, any row is written again (even an older one: there is nothing to compare).
      await s.writeRows([onlineRow({ group: 'fast', eventTime: 1, values: { n: 7 } })]);
      expect(await values(s, 'gpt-4', 'fast')).toEqual({ n: 7 });
    });

    it('readMany reads several vectors in order, null for missing ones', async () => {
      const s = await fresh();
      const rows = Array.from({ length: 300 }, (_, i) => onlineRow({ entityId: `e${i}`, values: { i } }));
      await s.writeRows(rows);
      const keys = [299, 0, 1000, 150].map((i) => ({
        entityType: 'model',
        entityId: `e${i}`,
        group: 'perf_5min',
        version: 1,
      }));
      const got = await s.readMany(keys);
      expect(got.map((v) => v?.values ?? null)).toEqual([{ i: 299 }, { i: 0 }, null, { i: 150 }]);
      expect(await s.readMany([])).toEqual([]);
    });

    it('flush resolves, and the data survives closing and reopening where the store persists', async () => {
      const c = await make({});
      current = c;
      await c.store.writeRows([onlineRow({ values: { n: 11 } })]);
      await c.store.flush();
      if (c.reopen === undefined) return;
      const again = await c.reopen();
      current = { ...c, store: again };
      expect((await again.read('model', 'gpt-4', 'perf_5min', 1))!.values).toEqual({ n: 11 });
    });
  });
}
