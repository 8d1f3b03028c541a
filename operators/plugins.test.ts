import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/errors.js';
import type { DecodedEvent } from '../src/domains/llm/events/types.js';
import { openTopology, serializeTopology } from '../topology/index.js';
import { compileAggregation } from './aggregation.js';
import { AGGREGATIONS } from './aggregation-functions.js';
import { loadPlugins, registerPlugin } from './plugins.js';
import { FILTERS, MAPS } from './functions.js';

const event = (body: Record<string, unknown>): DecodedEvent =>
  ({ type: 'api_call', ts: 1_000, body }) as unknown as DecodedEvent;

describe('plugins', () => {
  registerPlugin({
    name: 'unit',
    filters: { 'unit-ok': { create: () => (e) => e.body.ok === true } },
    maps: {
      'unit-map': {
        fields: ['a', 'b', 'c'],
        attributes: ['k'],
        create: () => (e) => ({ attrs: { k: String(e.body.k) }, values: { a: e.body.a as number, b: true } }),
      },
    },
    aggregations: {
      'unit-sum-sq': {
        create: () => ({
          init: () => 0,
          add: (acc, v) => (acc as number) + v * v,
          merge: (a, b) => (a as number) + (b as number),
          result: (acc) => acc as number,
        }),
      },
    },
  });

  it('registers filters and maps; a map returns values by name in the declared order, missing as NaN', () => {
    expect(FILTERS.get('unit-ok')!.create(undefined)(event({ ok: true }))).toBe(true);
    const map = MAPS.get('unit-map')!;
    expect(map.fields).toEqual(['a', 'b', 'c']);
    const rec = map.create(undefined)(event({ k: 7, a: 2.5 }), { lookup: () => null })!;
    expect(rec.ts).toBe(1_000);
    expect(rec.attrs).toEqual({ k: '7' });
    expect(rec.values).toEqual([2.5, 1, Number.NaN]);
  });

  it('runs a user aggregation as a mergeable slot, skipping missing values', () => {
    const plan = compileAggregation(
      [{ id: 'X', name: 'x', agg: { type: 'fn', fn: 'unit-sum-sq', field: 'v', scale: 2 } }],
      ['v'],
    );
    const a = plan.create();
    const b = plan.create();
    plan.add(a, [3], 0, 0, 0);
    plan.add(a, [Number.NaN], 0, 1, 1);
    plan.add(b, [4], 0, 2, 2);
    expect(plan.results(plan.create())).toEqual([null]);
    const merged = plan.create();
    plan.merge(merged, a);
    plan.merge(merged, b);
    expect(plan.results(merged)).toEqual([2 * (9 + 16)]);
    expect(plan.results(a)).toEqual([18]); // merging did not change the merged-in accumulator
    expect(JSON.parse(JSON.stringify(merged))).toEqual(merged); // checkpointable as is
  });

  it('refuses a name that is taken, naming the plugin and the name', () => {
    expect(() =>
      registerPlugin({ name: 'dup', filters: { 'event-type': { create: () => () => true } } }),
    ).toThrow(/dup.*filter `event-type` is already registered/);
    expect(() =>
      registerPlugin({ name: 'dup2', aggregations: { 'unit-sum-sq': AGGREGATIONS.get('unit-sum-sq')! } }),
    ).toThrow(ConfigError);
  });

  it('fails naming --plugin for a module that is missing or exports no plugin', async () => {
    const dir = join(tmpdir(), `fs-plugin-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'empty.mjs'), 'export const x = 1;\n');
    await expect(loadPlugins([join(dir, 'nope.mjs')])).rejects.toThrow(/--plugin .*nope\.mjs: cannot load/);
    await expect(loadPlugins([join(dir, 'empty.mjs')])).rejects.toThrow(/default export must be a plugin/);
  });

  it('loads the plugins a topology file lists, relative to the file, and keeps their absolute paths', async () => {
    const dir = join(tmpdir(), `fs-plugin-file-${process.pid}`);
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(
      join(dir, 'lib', 'p.mjs'),
      "export default { name: 'listed', filters: { 'listed-any': { create: () => () => true } } };\n",
    );
    const base = await openTopology('llm-perf');
    const doc = JSON.parse(serializeTopology(base, 'json'));
    doc.plugins = ['./lib/p.mjs'];
    doc.nodes.find((n: { id: string }) => n.id === 'perf_events').fn = 'listed-any';
    delete doc.nodes.find((n: { id: string }) => n.id === 'perf_events').params;
    writeFileSync(join(dir, 'topo.json'), JSON.stringify(doc));
    const t = await openTopology(join(dir, 'topo.json'));
    expect(t.plugins).toEqual([join(dir, 'lib', 'p.mjs')]);
    expect(FILTERS.has('listed-any')).toBe(true);
  });
});
