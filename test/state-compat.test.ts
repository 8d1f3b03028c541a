/**
 * State dirs written by other builds and runs: a state dir 0.1.0 left behind when it was
 * SIGKILLed part-way (test/fixtures/state-0.1.0) is restored by this build and the run ends
 * with the rows of an uninterrupted run; a state dir restored with another `--shards` is
 * refused with one line, and loses nothing: run again with its shards, it ends as if never
 * refused.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lines, ROOT, runCli, summaryOf, tempDir } from './support.js';

const FIXTURE = join(ROOT, 'test/fixtures/state-0.1.0');
const dir = tempDir('fs-state-compat-');

/** A fresh copy of the fixture's input, and (unless `clean`) of what the killed 0.1.0 run left. */
function workDir(name: string, clean: boolean): string {
  const d = join(dir, name);
  execFileSync('mkdir', ['-p', d]);
  copyFileSync(join(FIXTURE, 'events.ndjson.gz'), join(d, 'events.ndjson.gz'));
  if (!clean) execFileSync('tar', ['xzf', join(FIXTURE, 'killed-run.tgz'), '-C', d]);
  return d;
}

function run(d: string, shards: string) {
  return runCli(
    [
      'run',
      '--input',
      'events.ndjson.gz',
      '--out',
      'out.ndjson',
      '--dead-letters',
      'dl.ndjson',
      '--late-events',
      'late.ndjson',
      '--state-dir',
      'state',
      '--embedding-cache',
      join(dir, 'embeddings'),
      '--shards',
      shards,
      '--workers',
      '1',
      '--summary-json',
    ],
    d,
  );
}

/** Every file under `d` with its bytes, for "nothing changed". */
function snapshot(d: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    for (const name of readdirSync(p)) {
      const f = join(p, name);
      if (statSync(f).isDirectory()) walk(f);
      else out.set(f, readFileSync(f).toString('base64'));
    }
  };
  walk(d);
  return out;
}

function expectSameSet(a: string[], b: string[], what: string): void {
  expect(new Set(a).size, `${what}: duplicates`).toBe(a.length);
  expect([...a].sort(), what).toEqual([...b].sort());
}

let clean: string;

beforeAll(async () => {
  clean = workDir('clean', true);
  const r = await run(clean, '2');
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

describe('a state dir written by 0.1.0', () => {
  it('is restored: the run resumes from its checkpoint and ends with the rows of an uninterrupted run', async () => {
    const d = workDir('resumed', false);
    const before = lines(join(d, 'out.ndjson')).length;
    const committed = JSON.parse(readFileSync(join(d, 'state', 'checkpoint.json'), 'utf8')) as {
      id: number;
      done: boolean;
    };
    expect(committed.done).toBe(false);
    expect(before).toBeGreaterThan(0);
    const r = await run(d, '2');
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    // resumed, not started over: the checkpoint 0.1.0 committed
    expect(s.resumedFrom).toBe(committed.id);
    expect(s.eventsRead).toBe(3000);
    for (const f of ['out', 'dl', 'late'])
      expectSameSet(lines(join(d, `${f}.ndjson`)), lines(join(clean, `${f}.ndjson`)), f);
    expect(lines(join(d, 'out.ndjson')).length).toBeGreaterThan(before);
  }, 120_000);
});

describe('a state dir restored with another --shards', () => {
  it('is refused with one line, changing nothing; with its own shards it then ends as an uninterrupted run', async () => {
    const d = workDir('reshard', false);
    const before = snapshot(d);
    const r = await run(d, '3');
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    const ours = r.stderr.split('\n').filter((l) => l.startsWith('featurestream: '));
    expect(ours, r.stderr).toEqual([
      expect.stringMatching(
        /^featurestream: --shards must stay 2 for the state in --state-dir \(got 3\); the key→shard mapping depends on it/,
      ),
    ]);
    // nothing lost or rewritten: the state dir and the output files are as the refused run found them
    const after = snapshot(d);
    for (const [f, bytes] of before) {
      // The killed run's process lock (a dead pid) is cleared: a lock, not state.
      if (f.endsWith('featurestream.lock')) continue;
      expect(after.get(f), f).toBe(bytes);
    }
    const again = await run(d, '2');
    expect(again.code, again.stderr).toBe(0);
    for (const f of ['out', 'dl', 'late'])
      expectSameSet(lines(join(d, `${f}.ndjson`)), lines(join(clean, `${f}.ndjson`)), f);
  }, 120_000);
});
