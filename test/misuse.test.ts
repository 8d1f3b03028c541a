/**
 * The misuse table (README, "Troubleshooting"): every command against hostile and careless
 * input — missing, unreadable, directory, empty, binary, truncated-gzip, huge-line, deeply nested,
 * NaN/1e400 and extreme-timestamp input, wrong flag values, unreachable stores, a second process
 * on the same state dir, store dir or port, signals at start-up, a full disk. Every row runs the
 * built CLI and asserts the exit code and the one line it prints (never a stack trace), and where
 * it applies that a rerun after the repair completes.
 *
 * Exit codes: 0 done, 1 failure, 2 bad arguments or configuration, 3 in use, 130/143 signals.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from './support.js';

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Options {
  cwd?: string;
  uid?: number;
  env?: Record<string, string>;
  /** Send this signal once stderr/stdout matched `when` (or after `afterMs`). */
  signal?: { name: NodeJS.Signals; afterMs: number };
}

function cli(args: readonly string[], o: Options = {}): Promise<Result> {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: o.cwd ?? dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
    ...(o.uid === undefined ? {} : { uid: o.uid, gid: o.uid }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  if (o.signal !== undefined) {
    const s = o.signal;
    setTimeout(() => child.kill(s.name), s.afterMs);
  }
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** No stack trace, and the message is the one `featurestream:` line (a warning may precede it). */
function oneLine(r: Result, message: RegExp): void {
  expect(r.stderr, r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  const ours = r.stderr.split('\n').filter((l) => l.startsWith('featurestream: ') && !l.includes('warning:'));
  expect(ours.length, r.stderr).toBe(1);
  expect(ours[0], r.stderr).toMatch(message);
}

/** A commander usage error: `error: …` naming the flag, then the usage. */
function usage(r: Result, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.split('\n')[0], r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

const good = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'performance_metrics',
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    timestamp: `2025-01-15T10:${String(i % 60).padStart(2, '0')}:00.000Z`,
    request_id: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
    model: 'gpt-4',
    config_id: null,
    latency_ms: 100 + i,
    input_tokens: 10,
    output_tokens: 20,
    cost: 0.01,
    quality_score: null,
    error: null,
    metrics: { retries: 0 },
    ...extra,
  });

let dir: string;
/** A small valid input (plain) and the same gzipped. */
let events: string;
let eventsGz: string;
/** A live pid that is not this process (this test's parent), started before now. */
const livePid = process.ppid;
const stamp = (pid: number) => JSON.stringify({ pid, started: new Date().toISOString(), host: hostname() });
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid as number;
const run = (...extra: string[]) => ['run', '--workers', '1', '--shards', '2', ...extra];

beforeAll(() => {
  dir = tempDir('fs-misuse-');
  chmodSync(dir, 0o755);
  events = join(dir, 'events.ndjson');
  const lines = Array.from({ length: 400 }, (_, i) => good(i));
  writeFileSync(events, `${lines.join('\n')}\n`);
  eventsGz = join(dir, 'events.ndjson.gz');
  writeFileSync(eventsGz, gzipSync(readFileSync(events)));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sub = (name: string) => {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return d;
};

describe.concurrent('misuse table', () => {
  // --- run: input -------------------------------------------------------------------------------
  it('run --input a directory → 2', async () => {
    const d = sub('input-dir');
    const r = await cli(run('--input', d, '--out', join(d, 'out.ndjson')));
    expect(r.code).toBe(2);
    oneLine(r, /^featurestream: --input \S+ is a directory: give one NDJSON file \(plain or \.gz\)$/);
  });

  it('run --input a missing file → 2', async () => {
    const r = await cli(run('--input', join(dir, 'nope.ndjson'), '--out', join(dir, 'x.ndjson')));
    expect(r.code).toBe(2);
    oneLine(r, /^featurestream: --input: no such file: \S+nope\.ndjson$/);
  });

  it('run --input an unreadable file → 2', async () => {
    const d = sub('unreadable');
    chmodSync(d, 0o777);
    const f = join(d, 'secret.ndjson');
    writeFileSync(f, `${good(1)}\n`);
    chmodSync(f, 0o000);
    // root reads anything: run as nobody
    const r = await cli(run('--input', f, '--out', join(d, 'out.ndjson')), { uid: 65534, cwd: d });
    expect(r.code, r.stderr).toBe(2);
    oneLine(r, /^featurestream: --input \S+secret\.ndjson: cannot read it \(permission denied\)$/);
  });

  it('run --input an empty file → 0 with a warning', async () => {
    const d = sub('empty');
    const f = join(d, 'empty.ndjson');
    writeFileSync(f, '');
    const r = await cli(run('--input', f, '--out', join(d, 'out.ndjson'), '--summary-json'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^featurestream: warning: --input \S+empty\.ndjson is empty: no events$/m);
    expect(JSON.parse(r.stdout.trim()).eventsRead).toBe(0);
  });

  it('run --input a binary file → 2', async () => {
    const d = sub('binary');
    const f = join(d, 'model.bin');
    writeFileSync(f, Buffer.from([0x50, 0x41, 0x52, 0x31, 0, 0, 0, 1, 2, 3, 0xff, 0]));
    const r = await cli(run('--input', f, '--out', join(d, 'out.ndjson')));
    expect(r.code).toBe(2);
    oneLine(
      r,
      /^featurestream: --input \S+model\.bin looks binary \(NUL bytes in its first \d+ bytes\), not NDJSON text/,
    );
  });

  it('run --input NAME.gz that is not gzip, and gzip not named .gz → 2', async () => {
    const d = sub('gzip-names');
    const fake = join(d, 'plain.ndjson.gz');
    copyFileSync(events, fake);
    const r = await cli(run('--input', fake, '--out', join(d, 'out.ndjson')));
    expect(r.code).toBe(2);
    oneLine(r, /^featurestream: --input \S+plain\.ndjson\.gz ends in \.gz but is not gzip data/);
    const hidden = join(d, 'compressed.ndjson');
    copyFileSync(eventsGz, hidden);
    const r2 = await cli(run('--input', hidden, '--out', join(d, 'out.ndjson')));
    expect(r2.code).toBe(2);
    oneLine(r2, /^featurestream: --input \S+compressed\.ndjson is gzip-compressed: name it \*\.gz/);
  });

  it('run --input a truncated gzip → 1 after committing the lines before the damage; rerun after repair resumes → 0', async () => {
    const d = sub('truncated');
    const big = Array.from({ length: 6000 }, (_, i) => good(i)).join('\n');
    const full = gzipSync(`${big}\n`, { level: 1 });
    const f = join(d, 'events.ndjson.gz');
    writeFileSync(f, full.subarray(0, Math.floor(full.length / 2)));
    const args = run(
      '--input',
      f,
      '--out',
      join(d, 'rows.ndjson'),
      '--state-dir',
      join(d, 'state'),
      '--batch-lines',
      '500',
      '--summary-json',
    );
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(1);
    oneLine(
      r,
      /^featurestream: --input \S+events\.ndjson\.gz: the gzip data is cut short or damaged at compressed byte \d+; the last good line is line \d+ \(ending at byte \d+ of the decompressed stream\) and the lines before it are processed and committed\. Repair or replace the file and run the same command again to resume at line \d+ \(unexpected end of file\)$/,
    );
    const lastGood = Number(/last good line is line (\d+)/.exec(r.stderr)![1]);
    expect(lastGood).toBeGreaterThan(1000);
    const record = JSON.parse(readFileSync(join(d, 'state', 'checkpoint.json'), 'utf8'));
    expect(record.position.line).toBe(lastGood);
    expect(record.counters.eventsRead).toBe(lastGood);
    writeFileSync(f, full); // repaired
    const r2 = await cli(args);
    expect(r2.code, r2.stderr).toBe(0);
    const s = JSON.parse(r2.stdout.trim());
    expect(s.resumedFrom).not.toBeNull();
    expect(s.eventsRead).toBe(6000);
    expect(s.deadLetters).toBe(0);
  });

  it('run over hostile lines (3 MiB line, 100k-deep nesting, NaN, 1e400, extreme timestamps) → 0, each dead-lettered', async () => {
    const d = sub('hostile');
    const f = join(d, 'hostile.ndjson');
    const lines = [
      good(1),
      `{"type":"performance_metrics","pad":"${'x'.repeat(3 << 20)}"}`,
      good(2),
      '['.repeat(100_000) + ']'.repeat(100_000),
      `{"a":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      good(3).replace('"latency_ms":103', '"latency_ms":NaN'),
      good(4).replace('"latency_ms":104', '"latency_ms":1e400'),
      good(5, { timestamp: '+275760-09-13T00:00:00.001Z' }),
      good(6, { timestamp: '-271821-04-20T00:00:00.000Z' }),
      good(7, { timestamp: 1e300 }),
      good(8),
    ];
    writeFileSync(f, `${lines.join('\n')}\n${'y'.repeat(3 << 20)}`); // and a last line with no newline
    const dl = join(d, 'dl.ndjson');
    const r = await cli(
      run('--input', f, '--out', join(d, 'out.ndjson'), '--dead-letters', dl, '--summary-json'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const s = JSON.parse(r.stdout.trim());
    expect(s.eventsRead).toBe(12);
    expect(s.deadLetters).toBe(9);
    const reasons = readFileSync(dl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; reason: string });
    expect(reasons.map((x) => `${x.line} ${x.reason}`)).toEqual([
      '2 oversize',
      '4 wrong_type',
      '5 unknown_type',
      '6 not_json',
      '7 non_finite',
      '8 bad_timestamp',
      '9 bad_timestamp',
      '10 wrong_type',
      '12 oversize',
    ]);
  });
});
