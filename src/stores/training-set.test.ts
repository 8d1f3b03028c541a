import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { ConfigError } from '../shared/errors.js';
import { formatTimestamp } from '../shared/timestamp.js';
import { registryTestEngines, type TestStore } from '../registry/test-engines.js';
import { buildTrainingSet, readEntitiesCsv, resolveFeatures } from './training-set.js';
import { featureSetOf } from '../registry/feature-set.js';

const engines = registryTestEngines();
const t = (iso: string) => Date.parse(iso);

function perf5(entityId: string, windowEndIso: string, p95: number | null, version = 1): FeatureRow {
  const windowEnd = t(windowEndIso);
  return {
    group: 'perf_5min',
    entityType: 'model',
    entityId,
    version,
    windowStart: windowEnd - 300_000,
    windowEnd,
    eventTime: windowEnd - 1,
    revision: 0,
    values: { latency_p95_5min: p95, latency_p50_5min: p95 === null ? null : p95 / 2 },
  };
}

function context(entityId: string, iso: string, cpu: number): FeatureRow {
  return {
    group: 'context',
    entityType: 'system',
    entityId,
    version: 1,
    windowStart: null,
    windowEnd: null,
    eventTime: t(iso),
    revision: 0,
    values: { system_load_cpu: cpu, system_load_memory: cpu / 10 },
  };
}

/** Parses the CSV output (no quoting needed except where tested). */
const csvRows = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => l.split(','));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fs-h5-ts-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

for (const engine of engines) {
  describe(`training-set (${engine.name})`, () => {
    let ts: TestStore | null = null;
    afterEach(async () => {
      await ts?.drop();
      ts = null;
    });

    it('a hand-built example: no value from after the timestamp, TTL respected, labels passed through', async () => {
      ts = await engine.fresh();
      const store = ts.store;
      await store.writeRows([
        perf5('gpt-4', '2026-01-15T10:05:00Z', 100), // event_time 10:04:59.999
        perf5('gpt-4', '2026-01-15T10:10:00Z', 200), // event_time 10:09:59.999
        perf5('gpt-4', '2026-01-15T10:10:00Z', 999, 2), // version 2, same window
        perf5('claude', '2026-01-15T10:05:00Z', 50),
        context('gw', '2026-01-15T10:00:00Z', 0.5), // context TTL is 30 s
      ]);
      const entities = join(dir, `entities-${engine.name}.csv`);
      writeFileSync(
        entities,
        [
          'entity_type,entity_id,timestamp,label',
          'model,gpt-4,2026-01-15T10:04:59.998Z,"a,b"', // 1 ms before the first row
          'model,gpt-4,2026-01-15T10:04:59.999Z,1', // exactly at its event time
          'model,gpt-4,2026-01-15T10:09:59.998Z,0', // 1 ms before the second: still the first
          'model,gpt-4,2026-01-15T10:10:00.000Z,1',
          `model,gpt-4,${t('2026-01-16T10:09:59.998Z')},1`, // ms since the epoch; age just under 24 h
          'model,gpt-4,2026-01-16T10:10:00.000Z,1', // age just over 24 h: expired
          'model,claude,2026-01-15,0', // a date: midnight, before any row
          'system,gw,2026-01-15T10:00:29.999Z,1', // context age 29.999 s
          'system,gw,2026-01-15T10:00:30.000Z,1', // context age 30 s: expired
          'user,gpt-4,2026-01-15T11:00:00Z,1', // wrong entity type for perf_5min
          '',
          'model,unknown,2026-01-15T11:00:00Z,0',
        ].join('\r\n'),
      );
      const out = join(dir, `ts-${engine.name}.csv`);
      const r = await buildTrainingSet(store, entities, {
        featureSet: featureSetOf(),
        features: ['PERF_002', 'system_load_cpu'],
        format: 'csv',
        out,
        pageSize: 4, // several pages
      });
      expect(r.rows).toBe(11);
      expect(r.columns).toEqual([
        'entity_type',
        'entity_id',
        'timestamp',
        'label',
        'latency_p95_5min',
        'system_load_cpu',
      ]);
      const text = (await import('node:fs')).readFileSync(out, 'utf8');
      const lines = text.trimEnd().split('\n');
      expect(lines[0]).toBe('entity_type,entity_id,timestamp,label,latency_p95_5min,system_load_cpu');
      expect(lines[1]).toBe('model,gpt-4,2026-01-15T10:04:59.998Z,"a,b",,');
      expect(csvRows(lines.slice(2).join('\n')).map((c) => [c[1], c[2], c[4], c[5]])).toEqual([
        ['gpt-4', '2026-01-15T10:04:59.999Z', '100', ''],
        ['gpt-4', '2026-01-15T10:09:59.998Z', '100', ''],
        ['gpt-4', '2026-01-15T10:10:00.000Z', '200', ''],
        ['gpt-4', '2026-01-16T10:09:59.998Z', '200', ''],
        ['gpt-4', '2026-01-16T10:10:00.000Z', '', ''],
        ['claude', '2026-01-15T00:00:00.000Z', '', ''],
        ['gw', '2026-01-15T10:00:29.999Z', '', '0.5'],
        ['gw', '2026-01-15T10:00:30.000Z', '', ''],
        ['gpt-4', '2026-01-15T11:00:00.000Z', '', ''],
        ['unknown', '2026-01-15T11:00:00.000Z', '', ''],
      ]);

      // --version picks another version of every group.
      const out2 = join(dir, `ts2-${engine.name}.ndjson`);
      await buildTrainingSet(store, entities, {
        featureSet: featureSetOf(),
        features: ['latency_p95_5min'],
        version: 2,
        format: 'ndjson',
        out: out2,
      });
      const objs = (await import('node:fs'))
        .readFileSync(out2, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(objs[3]).toEqual({
        entity_type: 'model',
        entity_id: 'gpt-4',
        timestamp: '2026-01-15T10:10:00.000Z',
        label: '1',
        latency_p95_5min: 999,
      });
      expect(objs[2].latency_p95_5min).toBeNull();
    });

    it('matches a brute-force point-in-time join on generated data', async () => {
      ts = await engine.fresh();
      const store = ts.store;
      let seed = 7;
      const rand = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const base = t('2026-02-01T00:00:00Z');
      const rows: FeatureRow[] = [];
      for (const id of ['m0', 'm1', 'm2']) {
        for (let k = 0; k < 60; k++) {
          if (rand() < 0.3) continue; // gaps
          const end = base + k * 1_800_000; // every 30 min over 30 h
          rows.push({
            ...perf5(id, new Date(end).toISOString(), Math.round(rand() * 1000)),
            revision: k % 3,
          });
        }
      }
      await store.writeRows(rows);
      const queries = Array.from({ length: 150 }, () => ({
        id: `m${Math.floor(rand() * 4)}`, // m3 has no rows
        at: base + Math.floor(rand() * 40 * 3_600_000) - 3_600_000,
      }));
      const entities = join(dir, `gen-${engine.name}.csv`);
      writeFileSync(entities, queries.map((q) => `model,${q.id},${formatTimestamp(q.at)}`).join('\n'));
      const out = join(dir, `gen-${engine.name}.csv.out`);
      await buildTrainingSet(store, entities, {
        featureSet: featureSetOf(),
        features: ['PERF_001', 'PERF_002'],
        format: 'csv',
        out,
        pageSize: 37,
      });
      const lines = (await import('node:fs')).readFileSync(out, 'utf8').trimEnd().split('\n');
      expect(lines[0]).toBe('entity_type,entity_id,timestamp,latency_p50_5min,latency_p95_5min');
      const expected = queries.map((q) => {
        const best = rows
          .filter((r) => r.entityId === q.id && r.eventTime <= q.at && q.at - r.eventTime < 86_400_000)
          .sort((a, b) => b.eventTime - a.eventTime)[0];
        const v = (k: string) => (best?.values[k] == null ? '' : String(best.values[k]));
        return `model,${q.id},${formatTimestamp(q.at)},${v('latency_p50_5min')},${v('latency_p95_5min')}`;
      });
      expect(lines.slice(1)).toEqual(expected);
      expect(expected.filter((l) => !l.endsWith(',,')).length).toBeGreaterThan(50);
      // The staging table is gone.
      const left = await store.client.query<{ n: number }>(
        'test',
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'training_entities_%'`,
        [store.schema],
      );
      expect(left.rows[0]!.n).toBe(0);
    });
  });
}

describe('training-set inputs', () => {
  it('resolves ids, names and value names; unknown ones are a ConfigError naming --features', () => {
    expect(
      resolveFeatures(['PERF_002', 'latency_p95_5min', 'prompt_embedding_3'], undefined, featureSetOf()).map(
        (v) => v.name,
      ),
    ).toEqual(['latency_p95_5min', 'prompt_embedding_3']);
    expect(resolveFeatures(['DRV_001'], undefined, featureSetOf()).map((v) => v.name)).toHaveLength(8);
    expect(resolveFeatures(['CTX_001'], undefined, featureSetOf())[0]).toMatchObject({
      group: 'context',
      ttlSeconds: 30,
      version: 1,
    });
    expect(() => resolveFeatures(['nope'], undefined, featureSetOf())).toThrow(ConfigError);
    expect(() => resolveFeatures([], undefined, featureSetOf())).toThrow(/--features/);
  });

  it('reads CSV with or without a header, quotes across chunks, and names the bad line', async () => {
    const d = mkdtempSync(join(tmpdir(), 'fs-h5-csv-'));
    try {
      const noHeader = join(d, 'a.csv');
      writeFileSync(noHeader, 'model,"g""pt",0,x\nmodel,b,1970-01-01T00:00:01Z\n');
      const got = [];
      for await (const b of readEntitiesCsv(noHeader)) got.push(b);
      expect(got.flatMap((b) => b.rows)).toEqual([
        { entityType: 'model', entityId: 'g"pt', timestamp: 0, extra: ['x'] },
        { entityType: 'model', entityId: 'b', timestamp: 1000, extra: [''] },
      ]);
      expect(got[0]!.extraColumns).toEqual(['col4']);

      // Read in 64 KiB chunks: an escaped quote, and then a closing quote, split across chunks.
      for (const [pad, tail, id] of [
        [65_528, '""b"', `${'a'.repeat(65_528)}"b`],
        [65_528, '",', 'a'.repeat(65_528)],
      ] as const) {
        const f = join(d, `split-${tail.length}.csv`);
        writeFileSync(f, `model,"${'a'.repeat(pad)}${tail}${tail.endsWith(',') ? '' : ','}7\n`);
        const split = [];
        for await (const b of readEntitiesCsv(f)) split.push(...b.rows);
        expect(split).toEqual([{ entityType: 'model', entityId: id, timestamp: 7, extra: [] }]);
      }

      const reordered = join(d, 'b.csv');
      writeFileSync(reordered, `\ufeffTimestamp,Entity_ID,y,entity_type\n5,"multi\nline",lab,model\n`);
      const rows = [];
      for await (const b of readEntitiesCsv(reordered))
        rows.push(...b.rows.map((r) => ({ ...r, cols: b.extraColumns })));
      expect(rows).toEqual([
        { entityType: 'model', entityId: 'multi\nline', timestamp: 5, extra: ['lab'], cols: ['y'] },
      ]);

      const bad = join(d, 'c.csv');
      writeFileSync(bad, 'entity_type,entity_id,timestamp\nmodel,a,1\nmodel,b,not-a-time\n');
      const err = await (async () => {
        for await (const _ of readEntitiesCsv(bad)) {
          // drain
        }
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/--entities: line 3/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
