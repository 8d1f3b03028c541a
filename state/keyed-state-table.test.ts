import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { CheckpointStore } from './checkpoint-store.js';
import { KeyedStateTable } from './keyed-state-table.js';
import { MemoryBackend } from './memory-backend.js';

describe('KeyedStateTable', () => {
  it('records changed keys; takeChanges returns them once, namespaced and versioned', () => {
    const t = new KeyedStateTable({ name: 'counts', version: 1 });
    t.set('a', '1');
    t.set('b', '2');
    t.set('a', '3');
    expect(t.get('a')).toBe('3');
    expect(t.takeChanges()).toEqual(
      new Map([
        ['counts/a', '1:3'],
        ['counts/b', '1:2'],
      ]),
    );
    expect(t.takeChanges().size).toBe(0);
    expect(t.delete('b')).toBe(true);
    expect(t.has('b')).toBe(false);
    expect(t.takeChanges()).toEqual(new Map([['counts/b', null]]));
    expect(t.size).toBe(1);
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

  it('migrates older versions on load and writes them back at the next checkpoint', () => {
    const t = new KeyedStateTable({
      name: 'counts',
      version: 2,
      migrate: (from, value) => (from === 1 ? JSON.stringify({ n: Number(value) }) : value),
    });
    t.load(
      new Map([
        ['counts/a', '1:5'],
        ['counts/b', '2:{"n":7}'],
        ['other/a', '9:x'],
      ]),
    );
    expect(t.get('a')).toBe('{"n":5}');
    expect(t.get('b')).toBe('{"n":7}');
    expect(t.takeChanges()).toEqual(new Map([['counts/a', '2:{"n":5}']]));
  });

  it('refuses a newer version, or an older one without migrate, with a ConfigError', () => {
    const t = new KeyedStateTable({ name: 'counts', version: 1 });
    expect(() => t.load(new Map([['counts/a', '2:x']]))).toThrow(ConfigError);
    const u = new KeyedStateTable({ name: 'counts', version: 3 });
    expect(() => u.load(new Map([['counts/a', '2:x']]))).toThrow(/declares no migrate/);
  });

  it('validates its options', () => {
    expect(() => new KeyedStateTable({ name: 'a/b', version: 1 })).toThrow(ConfigError);
    expect(() => new KeyedStateTable({ name: 'a', version: 0 })).toThrow(/`version` must be an integer ≥ 1/);
  });
});
