import { fork } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineStore } from './offline-postgres.js';
import { EmbeddedOnlineStore } from './online-leveldb.js';

// A child process runs the compiled embedded stores, writes, reports, and is SIGKILLed: what a
// sink's write/flush resolved must be there afterwards, and the stale locks must not block.

const repo = path.resolve(import.meta.dirname, '..', '..');
/** The modules the child loads, and every module they import at run time (type imports vanish). */
const ENTRIES = ['src/stores/offline-postgres.ts', 'src/stores/online-leveldb.ts'];
function sources(): string[] {
  const seen = new Set<string>();
  const visit = (rel: string) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const text = fs.readFileSync(path.join(repo, rel), 'utf8');
    for (const m of text.matchAll(
      /^(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)\.js';/gm,
    )) {
      visit(path.posix.join(path.posix.dirname(rel), `${m[1]}.ts`));
    }
  };
  for (const e of ENTRIES) visit(e);
  return [...seen];
}

const CHILD = `
import { OfflineStore } from './src/stores/offline-postgres.js';
import { EmbeddedOnlineStore } from './src/stores/online-leveldb.js';
const [offDir, onDir] = process.argv.slice(2);
const rows = Array.from({ length: 1000 }, (_, i) => ({
  group: 'perf_5min', entityType: 'model', entityId: 'm' + i, version: 1,
  windowStart: Date.UTC(2026, 0, 1), windowEnd: Date.UTC(2026, 0, 1, 0, 5), eventTime: Date.UTC(2026, 0, 1, 0, 5) - 1,
  revision: 0, values: { i },
}));
const off = await OfflineStore.open('embedded:' + offDir);
await off.migrate();
await off.writeRows(rows);
await off.writeDeadLetters([{ source: 's', position: 1, line: 1, reason: 'not_json', detail: '', raw: '{' }]);
const on = await EmbeddedOnlineStore.open(onDir);
await on.writeRows(rows);
await on.flush();
process.send('written');
setInterval(() => {}, 1000); // keep the stores open until killed
`;

describe('embedded stores survive kill -9', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(tmpdir(), 'fs-h5-crash-'));
    for (const rel of sources()) {
      const out = ts.transpileModule(fs.readFileSync(path.join(repo, rel), 'utf8'), {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: true,
        },
        fileName: rel,
      });
      const target = path.join(dir, rel.replace(/\.ts$/, '.js'));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, out.outputText);
    }
    fs.cpSync(path.join(repo, 'src/stores/migrations'), path.join(dir, 'src/stores/migrations'), {
      recursive: true,
    });
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    fs.writeFileSync(path.join(dir, 'child.js'), CHILD);
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every written row, and a new opener takes over the dead process’s locks', async () => {
    const offDir = path.join(dir, 'offline');
    const onDir = path.join(dir, 'online');
    const child = fork(path.join(dir, 'child.js'), [offDir, onDir], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(fs.existsSync(path.join(offDir, 'featurestream.lock'))).toBe(true); // left behind

    const off = await OfflineStore.open(`embedded:${offDir}`);
    try {
      const n = await off.client.query<{ n: number; s: number }>(
        'test',
        `SELECT count(*)::int AS n, sum(("values"->>'i')::int)::int AS s FROM feature_values`,
      );
      expect(n.rows[0]).toEqual({ n: 1000, s: (999 * 1000) / 2 });
      const dl = await off.client.query<{ n: number }>('test', 'SELECT count(*)::int AS n FROM dead_letters');
      expect(dl.rows[0]!.n).toBe(1);
    } finally {
      await off.close();
    }
    const on = await EmbeddedOnlineStore.open(onDir);
    try {
      const got = await on.readMany(
        [0, 500, 999].map((i) => ({
          entityType: 'model',
          entityId: `m${i}`,
          group: 'perf_5min',
          version: 1,
        })),
      );
      expect(got.map((v) => v?.values)).toEqual([{ i: 0 }, { i: 500 }, { i: 999 }]);
    } finally {
      await on.close();
    }
  });
});
