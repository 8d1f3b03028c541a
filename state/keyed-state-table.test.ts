import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/errors.js';
import { CheckpointStore } from './checkpoint-store.js';
import { KeyedStateTable } from './keyed-state-table.js';
import { MemoryBackend } from './memory-backend.js';

describe('KeyedStateTable', () => {
  it('records changed keys; takeChanges returns them once, namespaced, with the format version once', () => {
    const t = new KeyedStateTable({ name: 'counts', version: 1 });
    t.set('a', '1');
    t.set('b', '2');
    t.set('a', '3');
    expect(t.get('a')).toBe('3');
    expect(t.takeChanges()).toEqual(
      new Map([
        ['counts/a', '3'],
        ['counts/b', '2'],
        ['@version/counts', '1'],
      ]),
    );
    expect(t.takeChanges().size).toBe(0);
    expect(t.delete('b')).toBe(true);
    expect(t.has('b')).toBe(false);
    expect(t.takeChanges()).toEqual(new Map([['counts/b', null]]));
    expect(t.size).toBe(1);
  });

  it('keeps values decoded and encodes only the changed ones at a checkpoint', () => {
    let encoded = 0;
    const t = new KeyedStateTable<{ n: number }>({
      name: 'k',
      version: 1,
      encode: (v) => {
        encoded++;
        return JSON.stringify(v);
      },
      decode: (s) => JSON.parse(s) as { n: number },
    });
    t.set('a', { n: 0 });
    for (let i = 0; i < 1000; i++) {
      t.get('a')!.n++;
      t.touch('a');
    }
    t.set('b', { n: 1 });
    expect(t.takeChanges()).toEqual(
      new Map([
        ['k/a', '{"n":1000}'],
        ['k/b', '{"n":1}'],
        ['@version/k', '1'],
      ]),
    );
    expect(encoded).toBe(2);
    expect([...t].map(([k]) => k)).toEqual(['a', 'b']);
  });

  it('writes nothing for a key added and deleted between two checkpoints', () => {
    const t = new KeyedStateTable({ name: 'sort/b', version: 1 });
    t.set('1', 'a');
    t.takeChanges();
    t.set('2', 'b');
    t.set('2', 'c');
    expect(t.delete('2')).toBe(true);
    expect(t.delete('1')).toBe(true);
    t.set('1', 'again'); // deleted since the checkpoint, then set: its value is written
    expect(t.takeChanges()).toEqual(new Map([['sort/b/1', 'again']]));
    expect(t.delete('1')).toBe(true);
    expect(t.takeChanges()).toEqual(new Map([['sort/b/1', null]]));
  });

  it('round-trips through a CheckpointStore, keeping other tables apart', async () => {
    const data = new Map<string, string>();
    const store = new CheckpointStore(new MemoryBackend(data));
    await store.restore(0);
    const a = new KeyedStateTable({ name: 'a', version: 1 });
    const b = new KeyedStateTable({ name: 'b', version: 1 });
    a.set('k:1', '{"n":1}');
    b.set('k:1', 'other');
    await store.prepare(1, new Map([...a.takeChanges(), ...b.takeChanges()]), {});
    await store.commit(1);
    await store.close();

    const again = new CheckpointStore(new MemoryBackend(data));
    const snap = await again.restore(1);
    const a2 = new KeyedStateTable({ name: 'a', version: 1 });
    a2.load(snap.entries);
    expect([...a2.entries()]).toEqual([['k:1', '{"n":1}']]);
    expect(a2.takeChanges().size).toBe(0);
  });

  it('reads a snapshot without a version entry as format version 1', () => {
    const t = new KeyedStateTable({ name: 'k', version: 1 });
    t.load(new Map([['k/a', '{"v":1}']]));
    expect(t.get('a')).toBe('{"v":1}');
    // the version entry is written once, nothing else changed
    expect(t.takeChanges()).toEqual(new Map([['@version/k', '1']]));
  });

  it('migrates older versions step by step on load and writes them back at the next checkpoint', () => {
    const t = new KeyedStateTable({
      name: 'counts',
      version: 3,
      migrate: (from, value) => (from === 1 ? JSON.stringify({ n: Number(value) }) : `[${value}]`),
    });
    t.load(
      new Map([
        ['counts/a', '5'],
        ['counts/b', '7'],
        ['other/a', 'x'],
      ]),
    );
    expect(t.get('a')).toBe('[{"n":5}]');
    expect(t.takeChanges()).toEqual(
      new Map([
        ['counts/a', '[{"n":5}]'],
        ['counts/b', '[{"n":7}]'],
        ['@version/counts', '3'],
      ]),
    );
  });

  it('refuses a newer version, or an older one without migrate, with a ConfigError', () => {
    const t = new KeyedStateTable({ name: 'counts', version: 1 });
    expect(() => t.load(new Map([['@version/counts', '2']]))).toThrow(ConfigError);
    const u = new KeyedStateTable({ name: 'counts', version: 3 });
    expect(() => u.load(new Map([['@version/counts', '2']]))).toThrow(/declares no migrate/);
  });

  it('validates its options', () => {
    expect(() => new KeyedStateTable({ name: 'a//b', version: 1 })).toThrow(ConfigError);
    expect(() => new KeyedStateTable({ name: '@version', version: 1 })).toThrow(ConfigError);
    expect(() => new KeyedStateTable({ name: 'a', version: 0 })).toThrow(/`version` must be an integer ≥ 1/);
  });
});
