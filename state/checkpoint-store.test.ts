import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InternalError } from '../src/shared/errors.js';
import type { StateBackend } from './backend.js';
import { CheckpointStore, type ShardSnapshot } from './checkpoint-store.js';
import { LevelDbBackend } from './leveldb-backend.js';
import { MemoryBackend } from './memory-backend.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'featurestream-checkpoints-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Fresh storage; each call of the result is a new backend over it, as after a process restart. */
type Storage = () => StateBackend;
const storages: Record<'memory' | 'leveldb', () => Storage> = {
  memory: () => {
    const data = new Map<string, string>();
    return () => new MemoryBackend(data);
  },
  leveldb: () => {
    const location = path.join(fs.mkdtempSync(path.join(root, 'db-')), 'shard-0');
    return () => new LevelDbBackend(location);
  },
};

function plain(snap: ShardSnapshot): {
  id: number;
  entries: Record<string, string>;
  meta: Record<string, string>;
} {
  return { id: snap.checkpointId, entries: Object.fromEntries(snap.entries), meta: { ...snap.meta } };
}

async function rawKeys(backend: StateBackend, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const [k] of backend.entries(prefix)) keys.push(k);
  return keys;
}

describe.each(['memory', 'leveldb'] as const)('CheckpointStore on %s', (kind) => {
  let storage: Storage;
  const open: CheckpointStore[] = [];

  /** A store over the shared storage; the previous one (if any) is closed, as by a restart. */
  async function restart(): Promise<CheckpointStore> {
    for (const s of open.splice(0)) await s.close();
    const store = new CheckpointStore(storage());
    open.push(store);
    return store;
  }

  async function inspect<T>(read: (backend: StateBackend) => Promise<T>): Promise<T> {
    for (const s of open.splice(0)) await s.close();
    const backend = storage();
    await backend.open();
    try {
      return await read(backend);
    } finally {
      await backend.close();
    }
  }

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  function fresh(): void {
    storage = storages[kind]();
  }

  /** Checkpoint 1 committed: {a:1, b:2, c:3}, meta {pos: 10}. */
  async function atCheckpointOne(): Promise<CheckpointStore> {
    fresh();
    const store = await restart();
    await store.restore(0);
    await store.prepare(
      1,
      new Map([
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
      ]),
      { pos: '10' },
    );
    await store.commit(1);
    return store;
  }

  const changesTwo = new Map<string, string | null>([
    ['a', '1b'],
    ['b', null],
    ['d', '4'],
  ]);
  const stateOne = { id: 1, entries: { a: '1', b: '2', c: '3' }, meta: { pos: '10' } };
  const stateTwo = { id: 2, entries: { a: '1b', c: '3', d: '4' }, meta: { pos: '20', extra: 'x' } };

  it('restore(0) of empty storage is the empty state', async () => {
    fresh();
    const store = await restart();
    expect(plain(await store.restore(0))).toEqual({ id: 0, entries: {}, meta: {} });
  });

  it('prepare + commit, then restore after a restart', async () => {
    await atCheckpointOne();
    const store = await restart();
    const snap = await store.restore(1);
    expect(plain(snap)).toEqual(stateOne);
    expect([...snap.entries.keys()]).toEqual(['a', 'b', 'c']);
  });

  it('prepare does not alter the committed state', async () => {
    const store = await atCheckpointOne();
    await store.prepare(2, changesTwo, { pos: '20', extra: 'x' });
    const committed = await inspect(async (b) => ({
      entries: await rawKeys(b, 's:'),
      id: await b.get('c:committed'),
      meta: await b.get('c:meta'),
      pending: await b.get('c:pending'),
    }));
    expect(committed).toEqual({
      entries: ['s:a', 's:b', 's:c'],
      id: '1',
      meta: '{"pos":"10"}',
      pending: '2',
    });
  });

  it('prepared but not committed by the coordinator: restore(previous) returns the previous state', async () => {
    const store = await atCheckpointOne();
    await store.prepare(2, changesTwo, { pos: '20', extra: 'x' });
    const again = await restart();
    expect(plain(await again.restore(1))).toEqual(stateOne);
    // The discarded delta is gone for good: a later restore(2) cannot resurrect it.
    expect(
      await inspect(async (b) => [...(await rawKeys(b, 'd')), ...(await rawKeys(b, 'c:pending'))]),
    ).toEqual([]);
    const third = await restart();
    expect(plain(await third.restore(2))).toEqual(stateOne);
  });

  it('committed by the coordinator but not folded by the shard: restore(id) returns the new state', async () => {
    const store = await atCheckpointOne();
    await store.prepare(2, changesTwo, { pos: '20', extra: 'x' });
    const again = await restart();
    expect(plain(await again.restore(2))).toEqual(stateTwo);
    // The coordinator may still deliver commit(2): it is a no-op now.
    await again.commit(2);
    await again.prepare(3, new Map([['e', '5']]), { pos: '30' });
    await again.commit(3);
    const third = await restart();
    expect(plain(await third.restore(3))).toEqual({
      id: 3,
      entries: { a: '1b', c: '3', d: '4', e: '5' },
      meta: { pos: '30' },
    });
    expect(await inspect((b) => rawKeys(b, 'd'))).toEqual([]);
  });

  it('deletes: of existing keys, of keys never written, and put-then-delete across checkpoints', async () => {
    const store = await atCheckpointOne();
    await store.prepare(
      2,
      new Map([
        ['a', null],
        ['ghost', null],
        ['z', 'new'],
      ]),
      {},
    );
    await store.commit(2);
    await store.prepare(3, new Map([['z', null]]), {});
    await store.commit(3);
    const again = await restart();
    expect(plain(await again.restore(3))).toEqual({ id: 3, entries: { b: '2', c: '3' }, meta: {} });
  });

  it('meta round-trips and each checkpoint replaces it whole', async () => {
    const store = await atCheckpointOne();
    const meta = { 'events:0': '1042', 'events:1': '', 'ключ "q"': 'a\nb\\c', '😀': '{"json":true}' };
    await store.prepare(2, new Map(), meta);
    await store.commit(2);
    const again = await restart();
    const snap = await again.restore(2);
    expect(snap.meta).toEqual(meta);
    expect(snap.entries.size).toBe(3);
  });

  it('entry keys never collide with the store’s own layout', async () => {
    fresh();
    const store = await restart();
    await store.restore(0);
    const tricky = new Map<string, string | null>([
      ['c:committed', 'x1'],
      ['c:pending', 'x2'],
      ['d:1:a', 'x3'],
      ['dm:1', 'x4'],
      ['s:s:', 'x5'],
      ['', 'empty key'],
      ['w:gpt-4:中文:😀', 'D'],
      ['P', 'P'],
    ]);
    await store.prepare(1, tricky, {});
    const again = await restart();
    const snap = await again.restore(1);
    expect(Object.fromEntries(snap.entries)).toEqual(Object.fromEntries(tricky));
  });

  it('an empty checkpoint still advances the id', async () => {
    const store = await atCheckpointOne();
    await store.prepare(2, new Map(), { pos: '10' });
    await store.commit(2);
    const again = await restart();
    expect(plain(await again.restore(2))).toEqual({ ...stateOne, id: 2 });
  });

  it('prepare copies its arguments: later changes by the caller do not leak in', async () => {
    const store = await atCheckpointOne();
    const changes = new Map<string, string | null>([['a', 'mine']]);
    const meta: Record<string, string> = { pos: '20' };
    await store.prepare(2, changes, meta);
    changes.set('a', 'changed');
    meta.pos = 'changed';
    await store.commit(2);
    const again = await restart();
    expect(plain(await again.restore(2))).toMatchObject({ entries: { a: 'mine' }, meta: { pos: '20' } });
  });

  it('calls are serialized: prepare(n+1) issued before commit(n) resolves waits for it', async () => {
    const store = await atCheckpointOne();
    const calls = [
      store.prepare(2, new Map([['a', '2']]), {}),
      store.commit(2),
      store.prepare(3, new Map([['a', '3']]), {}),
      store.commit(3),
    ];
    await Promise.all(calls);
    const again = await restart();
    expect(plain(await again.restore(3)).entries.a).toBe('3');
  });

  it('misuse is an InternalError', async () => {
    fresh();
    const store = await restart();
    await expect(store.prepare(1, new Map(), {})).rejects.toThrow(/before restore/);
    await store.restore(0);
    await expect(store.commit(1)).rejects.toThrow(InternalError);
    await expect(store.prepare(0, new Map(), {})).rejects.toThrow(InternalError);
    await expect(store.prepare(1.5, new Map(), {})).rejects.toThrow(InternalError);
    await store.prepare(1, new Map([['a', '1']]), {});
    await expect(store.prepare(2, new Map(), {})).rejects.toThrow(/checkpoint 1 is still pending/);
    await expect(store.commit(2)).rejects.toThrow(InternalError);
    await store.commit(1);
    await store.commit(1); // repeated commit: no-op
    await expect(store.prepare(1, new Map(), {})).rejects.toThrow(/ids must grow/);
    await expect(store.restore(-1)).rejects.toThrow(InternalError);
    // The coordinator says 0 committed but the shard folded 1: the two disagree.
    const again = await restart();
    await expect(again.restore(0)).rejects.toThrow(/shard state is at checkpoint 1/);
  });

  it('a failed prepare (invalid key) leaves nothing pending', async () => {
    const store = await atCheckpointOne();
    await expect(store.prepare(2, new Map([['bad\ud800', 'x']]), {})).rejects.toThrow(InternalError);
    await store.prepare(2, new Map([['ok', 'x']]), {});
    await store.commit(2);
    const again = await restart();
    expect(plain(await again.restore(2)).entries.ok).toBe('x');
  });
});

// --- Real crashes: a child process running the compiled store is SIGKILLed. ---

/** Transpiles state/ and src/shared/errors.ts to JS under `dir`, so the child runs the code under test as it is now. */
function compileForChild(dir: string): void {
  const repo = path.resolve(import.meta.dirname, '..');
  const sources = [
    ...fs
      .readdirSync(path.join(repo, 'state'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => path.join('state', f)),
    path.join('src', 'shared', 'errors.ts'),
  ];
  for (const rel of sources) {
    const out = ts.transpileModule(fs.readFileSync(path.join(repo, rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: rel,
    });
    const target = path.join(dir, rel.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, out.outputText);
  }
  // Lets the compiled leveldb-backend.js resolve `classic-level`.
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

// The changes of checkpoint n in the loop crash test; CHILD_SCRIPT computes the same.
function loopChanges(n: number): Map<string, string | null> {
  const changes = new Map<string, string | null>();
  for (let i = 0; i < 400; i++) {
    const key = `k:${(n * 37 + i * 7) % 1500}`;
    changes.set(key, (n + i) % 5 === 0 ? null : `${n}:${i}:${'x'.repeat(i % 40)}`);
  }
  return changes;
}

function loopState(k: number): { id: number; entries: Record<string, string>; meta: Record<string, string> } {
  const entries = new Map<string, string>();
  for (let n = 1; n <= k; n++) {
    for (const [key, v] of loopChanges(n)) {
      if (v === null) entries.delete(key);
      else entries.set(key, v);
    }
  }
  return { id: k, entries: Object.fromEntries(entries), meta: k === 0 ? {} : { pos: String(k * 100) } };
}

const CHILD_SCRIPT = `
import { CheckpointStore } from './state/checkpoint-store.js';
import { LevelDbBackend } from './state/leveldb-backend.js';

const [location, mode] = process.argv.slice(2);
const store = new CheckpointStore(new LevelDbBackend(location));
await store.restore(0);

if (mode === 'kill-after-prepare') {
  await store.prepare(1, new Map([['a', '1'], ['b', '2'], ['c', '3']]), { pos: '10' });
  await store.commit(1);
  await store.prepare(2, new Map([['a', '1b'], ['b', null], ['d', '4']]), { pos: '20', extra: 'x' });
  process.kill(process.pid, 'SIGKILL');
}

if (mode === 'loop') {
  function loopChanges(n) {
    const changes = new Map();
    for (let i = 0; i < 400; i++) {
      const key = \`k:\${(n * 37 + i * 7) % 1500}\`;
      changes.set(key, (n + i) % 5 === 0 ? null : \`\${n}:\${i}:\${'x'.repeat(i % 40)}\`);
    }
    return changes;
  }
  for (let n = 1; ; n++) {
    await store.prepare(n, loopChanges(n), { pos: String(n * 100) });
    process.stdout.write(\`prepared \${n}\\n\`);
    await store.commit(n);
    process.stdout.write(\`committed \${n}\\n\`);
  }
}
`;

function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

describe('CheckpointStore on LevelDB across a SIGKILL', () => {
  let build: string;
  beforeAll(() => {
    build = path.join(root, 'child');
    fs.mkdirSync(build);
    compileForChild(build);
    fs.writeFileSync(path.join(build, 'child.mjs'), CHILD_SCRIPT);
  });

  async function runChild(
    location: string,
    mode: string,
    onLine?: (line: string, child: ChildProcess) => void,
  ) {
    const child = spawn(process.execPath, [path.join(build, 'child.mjs'), location, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        onLine?.(line, child);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const status = await exited(child);
    return { status, lines, stderr };
  }

  async function restoreAt(location: string, committedId: number) {
    const store = new CheckpointStore(new LevelDbBackend(location));
    try {
      return plain(await store.restore(committedId));
    } finally {
      await store.close();
    }
  }

  it('killed right after prepare(2): restore(1) gives checkpoint 1, restore(2) gives checkpoint 2', async () => {
    const location = path.join(root, 'killed-after-prepare');
    const { status, stderr } = await runChild(location, 'kill-after-prepare');
    expect(stderr).toBe('');
    expect(status).toBe('SIGKILL');

    const copy = `${location}-copy`;
    fs.cpSync(location, copy, { recursive: true });
    // The coordinator never committed 2 (it did not get the ack, or another shard failed).
    expect(await restoreAt(location, 1)).toEqual({
      id: 1,
      entries: { a: '1', b: '2', c: '3' },
      meta: { pos: '10' },
    });
    // The coordinator committed 2; the shard died before folding it.
    expect(await restoreAt(copy, 2)).toEqual({
      id: 2,
      entries: { a: '1b', c: '3', d: '4' },
      meta: { pos: '20', extra: 'x' },
    });
  });

  it('killed at a random moment of a prepare/commit loop: restore(last acknowledged) is exactly that checkpoint', async () => {
    for (let round = 0; round < 6; round++) {
      const location = path.join(root, `loop-${round}`);
      const killAfter = 5 + round * 3;
      const delayMs = [0, 2, 5, 9, 17, 31][round]!;
      const { status, lines, stderr } = await runChild(location, 'loop', (line, child) => {
        if (line === `prepared ${killAfter}`) setTimeout(() => child.kill('SIGKILL'), delayMs);
      });
      expect(stderr).toBe('');
      expect(status).toBe('SIGKILL');

      // The coordinator commits n once it has the shard's "prepared n".
      const prepared = lines.filter((l) => l.startsWith('prepared ')).map((l) => Number(l.slice(9)));
      const acknowledged = prepared.at(-1)!;
      const folded = lines.at(-1) === `committed ${acknowledged}`;
      expect(acknowledged).toBeGreaterThanOrEqual(killAfter);

      const older = `${location}-older`;
      fs.cpSync(location, older, { recursive: true });
      expect(await restoreAt(location, acknowledged)).toEqual(loopState(acknowledged));

      // Had the coordinator not committed it, the shard must come back one checkpoint earlier,
      // unless it had already folded it, which only follows the coordinator's commit.
      const previous = await restoreAt(older, acknowledged - 1).then(
        (s) => s,
        (e: unknown) => e,
      );
      if (folded) expect(previous).toBeInstanceOf(InternalError);
      else if (!(previous instanceof InternalError)) expect(previous).toEqual(loopState(acknowledged - 1));
    }
  });
});
