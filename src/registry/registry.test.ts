import { afterEach, describe, expect, it } from 'vitest';
import type { FeatureDef } from './feature-set.js';
import { llmFeatureSet } from '../domains/llm/feature-set.js';

const FEATURE_CATALOG = llmFeatureSet().features;
import { readChangelog, readRegistry, syncRegistry } from './registry.js';
import { registryTestEngines, type TestStore } from './test-engines.js';

const engines = registryTestEngines();

for (const engine of engines) {
  describe(`feature registry (${engine.name})`, () => {
    let t: TestStore | null = null;
    const fresh = async () => {
      t = await engine.fresh();
      return t.store.client;
    };
    afterEach(async () => {
      await t?.drop();
      t = null;
    });

    it('the first sync adds every catalog feature with every field, and logs one "added" each', async () => {
      const client = await fresh();
      const r = await syncRegistry(client, FEATURE_CATALOG);
      expect(r.added).toEqual(FEATURE_CATALOG.map((f) => f.id));
      expect(r).toMatchObject({ changed: [], deactivated: [], reactivated: [], unchanged: 0 });
      const entries = await readRegistry(client);
      expect(entries).toHaveLength(FEATURE_CATALOG.length);
      const byId = new Map(entries.map((e) => [e.id, e]));
      for (const f of FEATURE_CATALOG) {
        const e = byId.get(f.id)!;
        const { active, createdAt, updatedAt, ...fields } = e;
        expect(active).toBe(true);
        expect(createdAt).toBeGreaterThan(0);
        expect(updatedAt).toBeGreaterThan(0);
        expect(fields).toEqual({
          ...f,
          source: [...f.source],
          valueNames: [...f.valueNames],
          tags: [...f.tags],
          validation: { ...f.validation },
        });
      }
      const log = await readChangelog(client);
      expect(log).toHaveLength(FEATURE_CATALOG.length);
      expect(new Set(log.map((l) => l.change))).toEqual(new Set(['added']));
      const perf2 = log.find((l) => l.featureId === 'PERF_002')!;
      expect(perf2.diff.name).toEqual({ from: null, to: 'latency_p95_5min' });
    });

    it('a second sync with the same catalog changes nothing and logs nothing', async () => {
      const client = await fresh();
      await syncRegistry(client, FEATURE_CATALOG);
      const before = await readRegistry(client);
      const r = await syncRegistry(client, FEATURE_CATALOG);
      expect(r).toEqual({
        added: [],
        changed: [],
        deactivated: [],
        reactivated: [],
        unchanged: FEATURE_CATALOG.length,
      });
      expect(await readRegistry(client)).toEqual(before);
      expect(await readChangelog(client)).toHaveLength(FEATURE_CATALOG.length);
    });

    it('records what changed: changed fields, deactivation of a removed feature, reactivation', async () => {
      const client = await fresh();
      const [a, b, ...rest] = FEATURE_CATALOG as readonly FeatureDef[];
      await syncRegistry(client, FEATURE_CATALOG);
      const changedA: FeatureDef = {
        ...a!,
        description: `${a!.description} (revised)`,
        validation: { ...a!.validation, max: Number.POSITIVE_INFINITY },
        tags: [...a!.tags, 'new-tag'],
      };
      // b leaves the catalog, a changes.
      const r1 = await syncRegistry(client, [changedA, ...rest]);
      expect(r1.changed).toEqual([a!.id]);
      expect(r1.deactivated).toEqual([b!.id]);
      expect(r1.unchanged).toBe(rest.length);
      const logA = await readChangelog(client, a!.id);
      expect(logA.map((l) => l.change)).toEqual(['added', 'changed']);
      expect(logA[1]!.diff).toEqual({
        description: { from: a!.description, to: changedA.description },
        'validation.max': { from: a!.validation.max, to: 'Infinity' },
        tags: { from: [...a!.tags], to: [...changedA.tags] },
      });
      const all = await readRegistry(client, { includeInactive: true });
      expect(all.find((e) => e.id === b!.id)!.active).toBe(false);
      expect((await readRegistry(client)).some((e) => e.id === b!.id)).toBe(false);
      expect(all.find((e) => e.id === a!.id)!.validation.max).toBe(Number.POSITIVE_INFINITY);
      // b comes back unchanged: reactivated, with an empty diff.
      const r2 = await syncRegistry(client, [changedA, b!, ...rest]);
      expect(r2).toMatchObject({ added: [], changed: [], deactivated: [], reactivated: [b!.id] });
      const logB = await readChangelog(client, b!.id);
      expect(logB.map((l) => [l.change, l.diff])).toEqual([
        ['added', expect.any(Object)],
        ['deactivated', {}],
        ['reactivated', {}],
      ]);
      expect(logB[1]!.changedAt).toBeLessThanOrEqual(logB[2]!.changedAt);
    });

    it('concurrent syncs of a fresh registry add each feature once', async () => {
      const client = await fresh();
      const results = await Promise.all([
        syncRegistry(client, FEATURE_CATALOG),
        syncRegistry(client, FEATURE_CATALOG),
      ]);
      expect(results.map((r) => r.added.length).sort()).toEqual([0, FEATURE_CATALOG.length]);
      expect(await readChangelog(client)).toHaveLength(FEATURE_CATALOG.length);
    });
  });
}
