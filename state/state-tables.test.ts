import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/errors.js';
import {
  hooksTable,
  isDeclared,
  keyedTable,
  OperatorTables,
  scopeTables,
  type TableCodec,
  timeKeyedTable,
  valueTable,
  withStep,
} from './state-tables.js';

const json = <V>(version = 1, migrate?: (from: number, s: string) => string): TableCodec<V> => ({
  version,
  encode: (v) => JSON.stringify(v),
  decode: (s) => JSON.parse(s) as V,
  ...(migrate === undefined ? {} : { migrate }),
});

const decls = () => [
  keyedTable<number>('k', json()),
  valueTable<number>('wm', json()),
  timeKeyedTable<string>('sort/b', json()),
  valueTable<{ seq: number }>('sort/meta', json()),
  scopeTables('w', [keyedTable<number>('k', json()), valueTable<number>('wm', json())]),
];

function stored(changes: Map<string, string | null>): Map<string, string> {
  return new Map([...changes].filter((e): e is [string, string] => e[1] !== null));
}

describe('OperatorTables', () => {
  it('stores every kind under its name (a nested operator under its scope) and restores it', () => {
    const a = OperatorTables.build(decls());
    a.keyed<number>('k').set('u1', 1);
    a.value<number>('wm').set(5);
    a.timeKeyed<string>('sort/b').set(12, 'r');
    a.value<{ seq: number }>('sort/meta').set({ seq: 13 });
    a.scope('w').keyed<number>('k').set('m1', 7);
    a.scope('w').value<number>('wm').set(3);
    const changes = a.takeChanges();
    expect(Object.fromEntries(changes)).toEqual({
      'k/u1': '1',
      '@version/k': '1',
      wm: '5',
      'sort/b/12': '"r"',
      '@version/sort/b': '1',
      'sort/meta': '{"seq":13}',
      'w/k/m1': '7',
      'w/@version/k': '1',
      'w/wm': '3',
    });
    expect(a.takeChanges().size).toBe(0);

    const b = OperatorTables.build(decls());
    b.load(stored(changes));
    expect(b.keyed<number>('k').get('u1')).toBe(1);
    expect(b.value<number>('wm').get()).toBe(5);
    expect([...b.timeKeyed<string>('sort/b').keys()]).toEqual([12]);
    expect(b.value<{ seq: number }>('sort/meta').get()).toEqual({ seq: 13 });
    expect(b.scope('w').keyed<number>('k').get('m1')).toBe(7);
    expect(b.scope('w').value<number>('wm').get()).toBe(3);
    // restored as written: nothing to write again
    expect(b.takeChanges().size).toBe(0);
  });

  it('refuses an entry no declared table holds, naming it and what to do', () => {
    const t = OperatorTables.build(decls());
    for (const k of ['kk/a', 'ctx', '@version/wm2', 'w/x/1', 'w/ctx']) {
      expect(() => t.load(new Map([[k, '1']])), k).toThrow(ConfigError);
      expect(() => t.load(new Map([[k, '1']])), k).toThrow(/--fresh, or replay/);
    }
  });

  it('migrates each table along its chain; a step added with withStep runs after the codec’s own', () => {
    const steps: string[] = [];
    const base = json<number>(2, (from, s) => {
      steps.push(`own ${from}`);
      return String(Number(s) * 10);
    });
    const codec = withStep(base, (s) => {
      steps.push('added');
      return String(Number(s) + 1);
    });
    expect(codec.version).toBe(3);
    const t = OperatorTables.build([keyedTable('k', codec), valueTable('v', codec)]);
    t.load(
      new Map([
        ['k/a', '4'],
        ['@version/k', '1'],
        ['v', '6'],
        ['@version/v', '2'],
      ]),
    );
    expect(t.keyed<number>('k').get('a')).toBe(41);
    expect(t.value<number>('v').get()).toBe(7);
    expect(steps).toEqual(['own 1', 'added', 'added']);
    // the migrated values and the new versions are written back at the next checkpoint
    expect(Object.fromEntries(t.takeChanges())).toEqual({
      'k/a': '41',
      '@version/k': '3',
      v: '7',
      '@version/v': '3',
    });
  });

  it('a single value of version 1 has no version entry (0.1.0’s layout); a later version has one', () => {
    const v1 = OperatorTables.build([valueTable<number>('wm', json())]);
    v1.value<number>('wm').set(1);
    expect([...v1.takeChanges().keys()]).toEqual(['wm']);
    const v2 = OperatorTables.build([
      valueTable<number>(
        'wm',
        json(2, (_f, s) => s),
      ),
    ]);
    v2.value<number>('wm').set(1);
    expect([...v2.takeChanges().keys()]).toEqual(['wm', '@version/wm']);
  });

  it('refuses a table stored by a newer format version, naming both versions', () => {
    const t = OperatorTables.build([valueTable<number>('wm', json()), keyedTable<number>('k', json())]);
    expect(() => t.load(new Map([['@version/wm', '2']]))).toThrow(
      /format version 2, newer than this build's 1/,
    );
    expect(() => t.load(new Map([['@version/k', '3']]))).toThrow(
      /format version 3, newer than this build's 1/,
    );
  });

  it('isDeclared tells entries of declared tables from others, through scopes', () => {
    const d = decls();
    for (const k of ['k/a', '@version/k', 'wm', 'sort/b/1', 'sort/meta', 'w/k/m', 'w/@version/k', 'w/wm'])
      expect(isDeclared(d, k), k).toBe(true);
    for (const k of ['@version/wm', 'w/@version/wm', 'w/x', 'ctx', 'sort/c/1'])
      expect(isDeclared(d, k), k).toBe(false);
  });

  it('an operator keeping its own entries (0.1.0 lifecycle) gets those no table holds, and stores what it returns', () => {
    const seen: Array<[string, string]> = [];
    const t = OperatorTables.build([
      hooksTable({
        onStart: (e) => seen.push(...e),
        onCheckpoint: () => new Map([['own/x', '1']]),
      }),
      valueTable<number>('sort/meta', json()),
    ]);
    t.load(
      new Map([
        ['own/a', '2'],
        ['@version/own', '1'],
        ['sort/meta', '3'],
      ]),
    );
    expect(seen).toEqual([
      ['own/a', '2'],
      ['@version/own', '1'],
    ]);
    expect(t.value<number>('sort/meta').get()).toBe(3);
    expect(Object.fromEntries(t.takeChanges())).toEqual({ 'own/x': '1' });
    expect(isDeclared([hooksTable({})], 'anything/at/all')).toBe(true);
  });

  it('a table declared twice is a wiring error', () => {
    expect(() => OperatorTables.build([keyedTable('k', json()), valueTable('k', json())])).toThrow(
      /declared twice/,
    );
  });
});
