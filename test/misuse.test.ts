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
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/shared/free-port.js';
import { BIN, tempDir } from './support.js';

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
    // Mostly dead letters: accepted on purpose (the default stops over half, see below).
    const r = await cli(
      run(
        '--input',
        f,
        '--out',
        join(d, 'out.ndjson'),
        '--dead-letters',
        dl,
        '--summary-json',
        '--max-dead-letter-share',
        '1',
      ),
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

  // --- run: flags, files, state dir, stores, signals, disk --------------------------------------
  it('run with a wrong flag value → 2 naming the flag', async () => {
    const base = ['--input', events, '--out', join(dir, 'flags.ndjson')];
    usage(await cli(['run', ...base, '--workers', '0']), /--workers must be a positive integer, got "0"/);
    usage(await cli(['run', ...base, '--shards', 'x']), /--shards must be a positive integer, got "x"/);
    usage(
      await cli(['run', ...base, '--checkpoint-interval', '-5']),
      /--checkpoint-interval must be an integer ≥ 0, got "-5"/,
    );
    usage(await cli(['run', ...base, '--log-level', 'loud']), /argument 'loud' is invalid/);
    const t = await cli(['run', ...base, '--topology', 'nope']);
    expect(t.code).toBe(2);
    oneLine(t, /^featurestream: --topology: unknown topology "nope" \(known: /);
    const o = await cli(['run', '--input', events]);
    expect(o.code).toBe(2);
    oneLine(
      o,
      /^featurestream: --out, --online or --offline is required with --input \(where do the rows go\?\)$/,
    );
  });

  it('run --out a directory, or in a missing directory; --state-dir a file → 2', async () => {
    const d = sub('outs');
    const a = await cli(run('--input', events, '--out', d));
    expect(a.code).toBe(2);
    oneLine(a, /^featurestream: --out \S+outs is a directory: give a file name$/);
    const b = await cli(run('--input', events, '--out', join(d, 'no', 'such', 'rows.ndjson')));
    expect(b.code).toBe(2);
    oneLine(b, /^featurestream: --out \S+rows\.ndjson: its directory \S+ does not exist: create it first$/);
    const file = join(d, 'state-file');
    writeFileSync(file, 'x');
    const c = await cli(run('--input', events, '--out', join(d, 'rows.ndjson'), '--state-dir', file));
    expect(c.code).toBe(2);
    oneLine(c, /^featurestream: --state-dir \S+state-file is a file, not a directory: give a directory$/);
  });

  it('a second run on a busy state dir → 3 before touching it; a stale lock is taken over → 0', async () => {
    const d = sub('busy');
    const state = join(d, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'featurestream.lock'), stamp(livePid));
    const args = run(
      '--input',
      events,
      '--out',
      join(d, 'rows.ndjson'),
      '--state-dir',
      state,
      '--summary-json',
    );
    const r = await cli(args);
    expect(r.code).toBe(3);
    oneLine(
      r,
      new RegExp(
        `^featurestream: state dir ${state} is in use by featurestream pid ${livePid} \\(started \\S+\\); one opener at a time: wait for it to finish or stop it`,
      ),
    );
    expect(existsSync(join(d, 'rows.ndjson'))).toBe(false);
    expect(existsSync(join(state, 'shard-0'))).toBe(false);
    writeFileSync(join(state, 'featurestream.lock'), stamp(deadPid()));
    const r2 = await cli(args);
    expect(r2.code, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout.trim()).eventsRead).toBe(400);
    expect(existsSync(join(state, 'featurestream.lock'))).toBe(false);
  });

  it('run --fresh on a busy state dir → 3 and deletes nothing', async () => {
    const d = sub('busy-fresh');
    const state = join(d, 'state');
    mkdirSync(join(state, 'shard-0'), { recursive: true });
    writeFileSync(join(state, 'featurestream.lock'), stamp(livePid));
    const r = await cli(
      run('--input', events, '--out', join(d, 'rows.ndjson'), '--state-dir', state, '--fresh'),
    );
    expect(r.code).toBe(3);
    oneLine(r, /is in use by featurestream pid/);
    expect(existsSync(join(state, 'shard-0'))).toBe(true);
  });

  it('run --shards other than the state dir’s → 2', async () => {
    const d = sub('shards');
    const args = ['--input', events, '--out', join(d, 'rows.ndjson'), '--state-dir', join(d, 'state')];
    const first = await cli(['run', '--workers', '1', '--shards', '2', ...args]);
    expect(first.code, first.stderr).toBe(0);
    const r = await cli(['run', '--workers', '1', '--shards', '3', ...args]);
    expect(r.code).toBe(2);
    oneLine(r, /^featurestream: --shards must stay 2 for the state in --state-dir \(got 3\)/);
  });

  it('run --kafka with no broker answering → 1, saying so while kafkajs retries', async () => {
    // A port nothing listens on: every connection is refused.
    const port = await freePort();
    const r = await cli([
      'run',
      '--topology',
      'llm-perf',
      '--kafka',
      `127.0.0.1:${port}`,
      '--topic',
      'events',
      '--group',
      'misuse',
      '--state-dir',
      join(dir, 'kafka-state'),
      '--log-level',
      'info',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('"msg":"connecting to kafka"');
    expect(r.stderr).toContain('still connecting to kafka: no broker has answered yet');
    oneLine(
      r,
      new RegExp(
        `^featurestream: --kafka 127\\.0\\.0\\.1:${port}: could not connect in \\d+ s \\(.*ECONNREFUSED.*\\): check the addresses and that the brokers are up`,
      ),
    );
  }, 120_000);

  it('run with a bad store URL → 2; a refused Redis or PostgreSQL → 1', async () => {
    const base = run('--input', events, '--out', join(dir, 'stores.ndjson'));
    const a = await cli([...base, '--online', 'ftp://x']);
    expect(a.code).toBe(2);
    oneLine(
      a,
      /^featurestream: --online: expected redis:\/\/HOST:PORT\[\/DB\], embedded or embedded:DIR, got "ftp:\/\/x"$/,
    );
    const [b, c] = await Promise.all([
      // No deadline set: a refused connection fails at the first attempt (the 15 s default unused).
      cli([...base, '--online', 'redis://127.0.0.1:1']),
      cli([...base, '--offline', 'postgres://postgres@127.0.0.1:1/test']),
    ]);
    expect(b.code).toBe(1);
    oneLine(
      b,
      /^featurestream: --online redis:\/\/127\.0\.0\.1:1: connection refused \(.*ECONNREFUSED.*\): no Redis listens there; is it running, and are the host and port right\?$/,
    );
    expect(c.code).toBe(1);
    oneLine(
      c,
      /^featurestream: --offline postgres:\/\/postgres@127\.0\.0\.1:1\/test: connection refused \(.*ECONNREFUSED.*\): no PostgreSQL listens there; is it running, and are the host and port right\?$/,
    );
  });

  it('run --offline embedded:DIR held by another process → 3', async () => {
    const d = sub('store-busy');
    const store = join(d, 'offline');
    mkdirSync(store);
    writeFileSync(join(store, 'featurestream.lock'), stamp(livePid));
    const r = await cli(
      run('--input', events, '--out', join(d, 'rows.ndjson'), '--offline', `embedded:${store}`),
    );
    expect(r.code).toBe(3);
    oneLine(
      r,
      new RegExp(`^featurestream: --offline: store dir ${store} is in use by featurestream pid ${livePid}`),
    );
  });

  it('replay --offline embedded:DIR held by a process that takes no pushes → 3 naming it', async () => {
    const d = sub('replay-store-busy');
    const store = join(d, 'offline');
    mkdirSync(store);
    writeFileSync(join(store, 'featurestream.lock'), stamp(livePid));
    const args = [
      'replay',
      '--input',
      events,
      '--from',
      '2025-01-15T10:00:00Z',
      '--to',
      '2025-01-15T14:00:00Z',
    ];
    const version = ['--feature-version', '2', '--offline', `embedded:${store}`];
    const busy = new RegExp(
      `^featurestream: --offline: store dir ${store} is in use by featurestream pid ${livePid}`,
    );
    const r = await cli([...args, ...version]);
    expect(r.code).toBe(3);
    oneLine(r, busy);
    // A push announcement of another process than the lock's holder (a stale one) is not used.
    writeFileSync(
      join(store, 'featurestream.push.json'),
      JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:1/push', token: 'x' }),
    );
    const s = await cli([...args, ...version]);
    expect(s.code).toBe(3);
    oneLine(s, busy);
  });

  it('SIGTERM / SIGINT during a run’s start-up → 143 / 130, lock released; rerun → 0', async () => {
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const d = sub(`signal-${signal}`);
      const state = join(d, 'state');
      const args = run(
        '--input',
        eventsGz,
        '--out',
        join(d, 'rows.ndjson'),
        '--state-dir',
        state,
        '--summary-json',
      );
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      child.stderr.setEncoding('utf8').on('data', (x: string) => {
        stderr += x;
      });
      child.stdout.setEncoding('utf8').on('data', (x: string) => {
        stdout += x;
      });
      const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      // Once it holds the state dir, i.e. started: before LevelDB and the workers are up.
      while (!existsSync(join(state, 'featurestream.lock'))) await new Promise((res) => setTimeout(res, 5));
      child.kill(signal);
      const c = await closed;
      const r = { code: c, signal: null, stdout, stderr };
      if (c === 0) continue; // finished before the signal arrived: nothing to check
      expect(c, stderr).toBe(code);
      oneLine(
        r,
        new RegExp(
          `^featurestream: run interrupted by ${signal}; state stays at the last checkpoint: run the same command again to resume$`,
        ),
      );
      expect(existsSync(join(state, 'featurestream.lock'))).toBe(false);
      const again = await cli(args);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout.trim()).eventsRead).toBe(400);
    }
  });

  it('disk full under --dead-letters → 1 naming the file; rerun after freeing space → 0, every record once', async (ctx) => {
    const d = sub('diskfull');
    const mnt = join(d, 'mnt');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip(); // needs root and a kernel that lets this container mount tmpfs
      return;
    }
    try {
      const input = join(d, 'events.ndjson');
      // Every other line malformed: ~500 KB of dead letters into 64 KiB.
      const lines = Array.from({ length: 2000 }, (_, i) =>
        i % 2 === 0 ? good(i) : good(i, { latency_ms: 'slow' }),
      );
      writeFileSync(input, `${lines.join('\n')}\n`);
      const args = run(
        '--input',
        input,
        '--out',
        join(mnt, 'rows.ndjson'),
        '--dead-letters',
        join(mnt, 'dl.ndjson'),
        '--state-dir',
        join(d, 'state'),
        '--summary-json',
      );
      const r = await cli(args);
      expect(r.code, r.stderr).toBe(1);
      oneLine(
        r,
        /^featurestream: no space left on the device writing \S+(rows|dl)\.ndjson: free space \(or choose another directory\) and run the same command again; a run resumes from its last checkpoint/,
      );
      execFileSync('mount', ['-o', 'remount,size=16m', mnt]);
      const again = await cli(args);
      expect(again.code, again.stderr).toBe(0);
      const summary = JSON.parse(again.stdout.trim());
      const rows = readFileSync(join(mnt, 'rows.ndjson'), 'utf8').trim().split('\n');
      expect(new Set(rows).size).toBe(rows.length);
      expect(rows.length).toBe(summary.rowsWritten);
      const dls = readFileSync(join(mnt, 'dl.ndjson'), 'utf8').trim().split('\n');
      expect(dls.map((l) => JSON.parse(l).line)).toEqual(Array.from({ length: 1000 }, (_, i) => 2 * i + 2));
      expect(summary.deadLetters).toBe(1000);
      // generate onto a full disk too
      execFileSync('umount', [mnt]);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
      const g = await cli(['generate', '--events', '5000', '--out', join(mnt, 'g.ndjson')]);
      expect(g.code).toBe(1);
      oneLine(g, /^featurestream: no space left on the device/);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('--debug adds the stack trace', async () => {
    const d = sub('debug');
    const r = await cli(['generate', '--events', '3', '--out', d, '--debug']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^featurestream: --out \S+debug is a directory: give a file name\n/);
    expect(r.stderr).toMatch(/\n\s+at .+:\d+:\d+/);
  });

  // --- serve ------------------------------------------------------------------------------------
  it('serve with a wrong flag value → 2', async () => {
    usage(await cli(['serve', '--port', 'abc']), /--port must be an integer ≥ 0, got "abc"/);
    const a = await cli(['serve', '--port', '70000', '--online', 'none', '--offline', 'none']);
    expect(a.code).toBe(2);
    oneLine(a, /^featurestream: --port\/--host: cannot listen on 127\.0\.0\.1:70000/);
    const b = await cli(['serve', '--online', 'ftp://x']);
    expect(b.code).toBe(2);
    oneLine(b, /^featurestream: --online: expected redis:\/\/HOST… or none, got "ftp:\/\/x"$/);
  });

  it('serve on a port in use → 3', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await cli(['serve', '--port', String(port), '--online', 'none', '--offline', 'none']);
      expect(r.code).toBe(3);
      oneLine(
        r,
        new RegExp(
          `^featurestream: --port ${port}: 127\\.0\\.0\\.1:${port} is in use by another process: stop it or choose another --port$`,
        ),
      );
    } finally {
      blocker.close();
    }
  });

  it('serve on embedded stores held by a run → 3; SIGTERM while it starts → 143, locks released', async () => {
    const d = sub('serve-embedded');
    const store = join(d, 'offline');
    mkdirSync(store);
    writeFileSync(join(store, 'featurestream.lock'), stamp(livePid));
    const args = ['serve', '--port', '0', '--online', 'none', '--offline', `embedded:${store}`];
    const r = await cli(args);
    expect(r.code).toBe(3);
    oneLine(
      r,
      new RegExp(`^featurestream: --offline: store dir ${store} is in use by featurestream pid ${livePid}`),
    );
    rmSync(join(store, 'featurestream.lock'));
    // PGlite takes a while to start: signal it then.
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (x: string) => {
      stderr += x;
    });
    const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    while (!existsSync(join(store, 'featurestream.lock'))) await new Promise((res) => setTimeout(res, 5));
    child.kill('SIGTERM');
    const code = await closed;
    expect(code, stderr).toBe(143);
    oneLine(
      { code, signal: null, stdout: '', stderr },
      /^featurestream: serve start-up interrupted by SIGTERM; nothing was served$/,
    );
    expect(existsSync(join(store, 'featurestream.lock'))).toBe(false);
  });

  // --- generate, export, training-set, db, features, topology -----------------------------------
  it('generate with wrong values or outputs → 2', async () => {
    usage(
      await cli(['generate', '--events', '0', '--out', 'x']),
      /--events must be a positive integer, got "0"/,
    );
    const a = await cli(['generate', '--events', '3', '--out', join(dir, 'g.ndjson'), '--bad-fraction', '2']);
    expect(a.code).toBe(2);
    oneLine(a, /^featurestream: --bad-fraction must be a number in \[0, 1\), got "2"$/);
    const b = await cli(['generate', '--events', '3', '--out', join(dir, 'missing', 'g.ndjson')]);
    expect(b.code).toBe(2);
    oneLine(
      b,
      /^featurestream: --out \S+g\.ndjson: its directory \S+missing does not exist: create it first$/,
    );
    // --shift: its form, its input, its factor, a model the stream has, and only with --kind llm.
    const out = join(dir, 'shifted.ndjson');
    for (const [value, message] of [
      ['gpt-4o:latency', /three parts separated by ":", got "gpt-4o:latency"$/],
      ['gpt-4o:tokens:3', /INPUT "tokens" is not latency or cost, got "gpt-4o:tokens:3"$/],
      ['gpt-4o:latency:0', /FACTOR "0" is not a number > 0 other than 1, got "gpt-4o:latency:0"$/],
      ['gpt-4o:latency:x', /FACTOR "x" is not a number > 0 other than 1/],
    ] as const) {
      const r = await cli(['generate', '--events', '50', '--out', out, '--shift', value]);
      expect(r.code, r.stderr).toBe(2);
      oneLine(r, new RegExp(`^featurestream: --shift must be MODEL:INPUT:FACTOR .*${message.source}`));
    }
    const m = await cli(['generate', '--events', '50', '--out', out, '--shift', 'gpt-5:latency:3']);
    expect(m.code).toBe(2);
    oneLine(
      m,
      /^featurestream: --shift: the stream has no model "gpt-5" \(it has claude-3-5-sonnet, .*gpt-4o, .*\)$/,
    );
    const k = await cli([
      'generate',
      '--events',
      '50',
      '--out',
      out,
      '--kind',
      'perf',
      '--shift',
      'gpt-4o:latency:3',
    ]);
    expect(k.code).toBe(2);
    oneLine(k, /^featurestream: --shift goes with --kind llm$/);
    const i = await cli([
      'run',
      '--input',
      out,
      '--out',
      join(dir, 'r.ndjson'),
      '--shift',
      'gpt-4o:latency:3',
    ]);
    expect(i.code).toBe(2);
    oneLine(i, /^featurestream: --shift goes with the embedded default \(no --input\)/);
  });

  it('export / db with wrong values, or no store yet → 2', async () => {
    const d = sub('stores-cmds');
    const off = join(d, 'offline');
    usage(
      await cli(['export', '--offline', `embedded:${off}`, '--group', 'perf_5min', '--format', 'xml']),
      /argument 'xml' is invalid/,
    );
    const a = await cli(['db', 'migrate', '--offline', 'nope://x']);
    expect(a.code).toBe(2);
    oneLine(
      a,
      /^featurestream: --offline: expected postgres:\/\/USER@HOST:PORT\/DB\[\?schema=NAME\], embedded or embedded:DIR, got "nope:\/\/x"$/,
    );
    usage(
      await cli(['db', 'retention', '--offline', `embedded:${off}`, '--days', '-1']),
      /--days must be a number ≥ 0, got "-1"/,
    );
    const b = await cli(['export', '--offline', `embedded:${off}`, '--group', 'perf_5min']);
    expect(b.code).toBe(2);
    oneLine(
      b,
      /^featurestream: --offline: no feature store in embedded:\S+ \(schema public\): run `featurestream db migrate` or a run with --offline first$/,
    );
    // Retention on a schema that does not exist (or holds no store) drops nothing: → 2, naming it.
    const c = await cli([
      'db',
      'retention',
      '--offline',
      'postgres://postgres@127.0.0.1:5432/test?schema=fs_no_such_schema',
    ]);
    expect(c.code, c.stderr).toBe(2);
    oneLine(
      c,
      /^featurestream: --offline: no feature store in postgres:\/\/postgres@127\.0\.0\.1:5432\/test \(schema fs_no_such_schema\): run `featurestream db migrate` or a run with --offline first$/,
    );
    const e = await cli(['db', 'retention', '--offline', `embedded:${off}`, '--schema', 'fs_none']);
    expect(e.code, e.stderr).toBe(2);
    oneLine(
      e,
      /^featurestream: --offline: no feature store in embedded:\S+ \(schema fs_none\): run `featurestream db migrate` or a run with --offline first$/,
    );
  });

  it('training-set with a missing or binary --entities → 2', async () => {
    const d = sub('stores-cmds-ts');
    const off = join(d, 'offline');
    const c = await cli([
      'training-set',
      '--entities',
      join(d, 'none.csv'),
      '--features',
      'PERF_001',
      '--offline',
      `embedded:${off}`,
    ]);
    expect(c.code).toBe(2);
    oneLine(c, /^featurestream: --entities: cannot read \S+none\.csv/);
    const bin = join(d, 'ents.bin');
    writeFileSync(bin, Buffer.from([1, 2, 0, 0xff, 10]));
    const e = await cli([
      'training-set',
      '--entities',
      bin,
      '--features',
      'PERF_001',
      '--offline',
      `embedded:${off}`,
    ]);
    expect(e.code).toBe(2);
    oneLine(e, /^featurestream: --entities: line 1 has \d+ fields?, needs 3$/);
  });

  it('export from a refused or unreachable PostgreSQL → 1; db migrate on a busy store dir → 3', async () => {
    const off = join(sub('stores-cmds-busy'), 'offline');
    // Refused: the first attempt fails, with no deadline set (the 30 s default unused).
    const f = await cli([
      'export',
      '--offline',
      'postgres://postgres@127.0.0.1:1/test',
      '--group',
      'perf_5min',
    ]);
    expect(f.code).toBe(1);
    oneLine(
      f,
      /^featurestream: --offline postgres:\/\/postgres@127\.0\.0\.1:1\/test: connection refused \(.*ECONNREFUSED.*\): no PostgreSQL listens there; is it running, and are the host and port right\?$/,
    );
    // Unreachable (accepts, never answers): retried with a line while it waits, then → 1.
    const silent = createServer({ pauseOnConnect: true });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as { port: number }).port;
    try {
      const u = await cli(
        ['export', '--offline', `postgres://postgres@127.0.0.1:${port}/test`, '--group', 'perf_5min'],
        { env: { FEATURESTREAM_RETRY_DEADLINE_MS: '2000' } },
      );
      expect(u.code, u.stderr).toBe(1);
      expect(u.stderr).toContain(
        `featurestream: warning: still waiting for --offline postgres://postgres@127.0.0.1:${port}/test: connected, but no answer to the startup message`,
      );
      oneLine(
        u,
        new RegExp(
          `^featurestream: --offline postgres://postgres@127\\.0\\.0\\.1:${port}/test: PostgreSQL not reachable within 2000 ms \\(connected, but no answer to the startup message\\): check the host and port`,
        ),
      );
    } finally {
      silent.close();
    }
    mkdirSync(off, { recursive: true });
    writeFileSync(join(off, 'featurestream.lock'), stamp(livePid));
    const g = await cli(['db', 'migrate', '--offline', `embedded:${off}`]);
    expect(g.code).toBe(3);
    oneLine(
      g,
      new RegExp(`^featurestream: --offline: store dir ${off} is in use by featurestream pid ${livePid}`),
    );
  });

  it('features / topology / an unknown command with wrong values → 2', async () => {
    const a = await cli(['features', 'list', '--group', 'nope']);
    expect(a.code).toBe(2);
    oneLine(a, /^featurestream: --group: unknown group "nope" \(known: /);
    const b = await cli(['topology', 'show', '--topology', 'nope']);
    expect(b.code).toBe(2);
    oneLine(b, /^featurestream: --topology: unknown topology "nope"/);
    usage(await cli(['topology', 'show', '--format', 'png']), /argument 'png' is invalid/);
    usage(await cli(['frobnicate']), /^error: unknown command 'frobnicate'/);
  });

  // --- issue 31: lock holders, bad input, exit codes of every command -----------------------------
  it('a state dir held by a SIGKILLed run its parent has not reaped (a zombie) is taken over → 0', async () => {
    const d = sub('zombie');
    const state = join(d, 'state');
    // The holder: a run stuck at start (its --online store accepts and never answers), started by
    // a shell that then becomes `sleep`, which never reaps it.
    const silent = createServer({ pauseOnConnect: true });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as { port: number }).port;
    const args = run(
      '--input',
      events,
      '--out',
      join(d, 'rows.ndjson'),
      '--state-dir',
      state,
      '--summary-json',
    );
    const parent = spawn(
      'sh',
      [
        '-c',
        '"$0" "$@" >/dev/null 2>&1 & echo "holder $!"; exec sleep 600',
        process.execPath,
        BIN,
        ...args,
        '--online',
        `redis://127.0.0.1:${port}`,
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      let out = '';
      parent.stdout!.setEncoding('utf8');
      await new Promise<void>((res) =>
        parent.stdout!.on('data', (x: string) => {
          out += x;
          if (/holder \d+\n/.test(out)) res();
        }),
      );
      const holder = Number(/holder (\d+)/.exec(out)![1]);
      const lockFile = join(state, 'featurestream.lock');
      while (!existsSync(lockFile) || !readFileSync(lockFile, 'utf8').includes(`"pid":${holder}`)) {
        await new Promise((res) => setTimeout(res, 10));
      }
      process.kill(holder, 'SIGKILL');
      const stateOf = () => readFileSync(`/proc/${holder}/stat`, 'utf8').split(') ')[1]!.split(' ')[0];
      while (stateOf() !== 'Z') await new Promise((res) => setTimeout(res, 10));
      const r = await cli(args);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim()).eventsRead).toBe(400);
      expect(stateOf()).toBe('Z'); // taken over while the holder was still unreaped
    } finally {
      parent.kill('SIGKILL');
      silent.close();
    }
  });

  it('run --input a file of mostly dead letters (a CSV) → 1 naming the file, reasons and likely cause, after committing; a rerun accepting it → 0', async () => {
    const d = sub('csv');
    const f = join(d, 'events.csv');
    writeFileSync(f, 'id,type,timestamp\n1,performance_metrics,2025-01-15T10:00:00Z\n');
    const args = run(
      '--input',
      f,
      '--out',
      join(d, 'rows.ndjson'),
      '--state-dir',
      join(d, 'state'),
      '--summary-json',
    );
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(1);
    oneLine(
      r,
      /^featurestream: --input \S+events\.csv: 2 of 2 lines are dead letters \(not_json 2\) — not NDJSON events\? 100% of the whole input is above --max-dead-letter-share 0\.5; stopped after committing what was read: check the input, or run again with a higher --max-dead-letter-share \(1 accepts any share\)$/,
    );
    const record = JSON.parse(readFileSync(join(d, 'state', 'checkpoint.json'), 'utf8'));
    expect(record.done).toBe(false);
    expect(record.position.line).toBe(2);
    const again = await cli([...args, '--max-dead-letter-share', '1']);
    expect(again.code, again.stderr).toBe(0);
    const s = JSON.parse(again.stdout.trim());
    expect(s.resumedFrom).not.toBeNull();
    expect(s.deadLettersByReason).toEqual({ not_json: 2 });
  });

  it('run whose first 1,000 lines are mostly dead letters stops there → 1; a few bad lines → 0; a bad threshold → 2', async () => {
    const d = sub('head-dead');
    const f = join(d, 'events.ndjson');
    const lines = [
      ...Array.from({ length: 700 }, (_, i) => `{"type":"performance_metrics","n":${i},`),
      ...Array.from({ length: 5000 }, (_, i) => good(i)),
    ];
    writeFileSync(f, `${lines.join('\n')}\n`);
    const args = run(
      '--input',
      f,
      '--out',
      join(d, 'rows.ndjson'),
      '--dead-letters',
      join(d, 'dl.ndjson'),
      '--state-dir',
      join(d, 'state'),
      '--batch-lines',
      '500',
    );
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(1);
    oneLine(
      r,
      /^featurestream: --input \S+events\.ndjson: 700 of 1,000 lines are dead letters \(not_json 700\) — not NDJSON events\? 70% of the first 1,000 lines is above --max-dead-letter-share 0\.5;/,
    );
    const record = JSON.parse(readFileSync(join(d, 'state', 'checkpoint.json'), 'utf8'));
    expect(record.position.line).toBeGreaterThanOrEqual(1000);
    expect(record.position.line).toBeLessThan(lines.length);
    expect(readFileSync(join(d, 'dl.ndjson'), 'utf8').trim().split('\n')).toHaveLength(700);
    // The same command again stops again before reading on; a threshold above the share finishes.
    const same = await cli(args);
    expect(same.code, same.stderr).toBe(1);
    const ok = await cli([...args, '--max-dead-letter-share', '0.75', '--summary-json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout.trim()).eventsRead).toBe(lines.length);
    usage(
      await cli(run('--input', f, '--out', join(d, 'x.ndjson'), '--max-dead-letter-share', '2')),
      /--max-dead-letter-share must be a number in \[0, 1\], got "2"/,
    );
  });

  it('run --online: a Redis that accepts and never answers is waited for with a line every few seconds → 1 naming the URL', async () => {
    const silent = createServer({ pauseOnConnect: true });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await cli(
        run('--input', events, '--out', join(dir, 'silent.ndjson'), '--online', `redis://127.0.0.1:${port}`),
        {
          env: { FEATURESTREAM_RETRY_DEADLINE_MS: '2000' },
        },
      );
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `still waiting for --online redis://127.0.0.1:${port}: connected, but no answer to the handshake`,
      );
      oneLine(
        r,
        new RegExp(
          `^featurestream: --online redis://127\\.0\\.0\\.1:${port}: Redis not reachable within 2000 ms \\(connected, but no answer to the handshake\\): check the host and port, that it is Redis that listens there`,
        ),
      );
    } finally {
      silent.close();
    }
  });

  it('serve with a refused Redis stays up: /readyz 503 naming the store; SIGTERM → 0', async () => {
    const closed = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--online', `redis://127.0.0.1:${closed}`, '--offline', 'none'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (x: string) => {
      stdout += x;
    });
    child.stderr.setEncoding('utf8').on('data', (x: string) => {
      stderr += x;
    });
    const exited = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    while (!/listening on (http:\/\/\S+)/.test(stdout)) await new Promise((res) => setTimeout(res, 20));
    const base = /listening on (http:\/\/\S+)/.exec(stdout)![1];
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { online: string }; down: string[] };
    expect(body.checks.online).toBe('down');
    expect(body.down[0]).toMatch(new RegExp(`^online redis://127\\.0\\.0\\.1:${closed}: `));
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
  });

  it('SIGTERM / SIGINT while the modules load → 143 / 130 with one line', async () => {
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const child = spawn(process.execPath, [BIN, 'topology', 'list'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, FEATURESTREAM_TEST_LOAD_DELAY_MS: '60000' },
      });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      await new Promise<void>((res) =>
        child.stderr.on('data', (x: string) => {
          stderr += x;
          if (stderr.includes('[test hook] loading delayed')) res();
        }),
      );
      child.kill(signal);
      expect(await closed, stderr).toBe(code);
      oneLine(
        { code, signal: null, stdout: '', stderr },
        new RegExp(`^featurestream: interrupted by ${signal} while loading; nothing was done$`),
      );
    }
  });

  // --- ui, drift, quality, replay, diff, workflow, export, training-set, db -----------------------
  it('ui: a busy port → 3 naming --port; a bad port or topology → 2; SIGTERM → 0', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await cli(['ui', '--port', String(port)]);
      expect(r.code, r.stderr).toBe(3);
      oneLine(
        r,
        new RegExp(
          `^featurestream: --port ${port}: 127\\.0\\.0\\.1:${port} is in use by another process: stop it or choose another --port$`,
        ),
      );
      // run --ui-port on a busy port names --ui-port
      const u = await cli(
        run('--input', events, '--out', join(dir, 'ui-busy.ndjson'), '--ui-port', String(port)),
      );
      expect(u.code, u.stderr).toBe(3);
      oneLine(
        u,
        new RegExp(`^featurestream: --ui-port ${port}: 127\\.0\\.0\\.1:${port} is in use by another process`),
      );
    } finally {
      blocker.close();
    }
    usage(await cli(['ui', '--port', 'abc']), /--port must be an integer ≥ 0, got "abc"/);
    const big = await cli(['ui', '--port', '70000']);
    expect(big.code, big.stderr).toBe(2);
    oneLine(big, /^featurestream: --port: cannot listen on 127\.0\.0\.1:70000/);
    const notTopology = join(sub('ui'), 'notes.yaml');
    writeFileSync(notTopology, 'hello: world\n');
    const t = await cli(['ui', '--topology', notTopology]);
    expect(t.code).toBe(2);
    oneLine(t, /^featurestream: topology file \S+notes\.yaml: field `schemaVersion` must be 1, got nothing$/);
    const child = spawn(process.execPath, [BIN, 'ui', '--port', '0'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (x: string) => {
      stdout += x;
    });
    const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    while (!stdout.includes('topology page: http://')) await new Promise((res) => setTimeout(res, 20));
    child.kill('SIGTERM');
    expect(await closed).toBe(0);
  });

  it('drift and quality: reversed or bad periods, wrong values → 2; a missing schema or database → 2', async () => {
    const off = `embedded:${join(sub('drift'), 'offline')}`;
    const periods = ['--reference', '2025-01-01/2025-01-08', '--current', '2025-01-08/2025-01-15'];
    usage(
      await cli([
        'drift',
        '--offline',
        off,
        '--group',
        'perf_5min',
        '--reference',
        '2025-01-08/2025-01-01',
        '--current',
        '2025-01-08/2025-01-15',
      ]),
      /--reference: TO must be after FROM, got "2025-01-08\/2025-01-01"/,
    );
    usage(
      await cli([
        'drift',
        '--offline',
        off,
        '--group',
        'perf_5min',
        '--reference',
        'x/y',
        '--current',
        '2025-01-08/2025-01-15',
      ]),
      /--reference: "x" is not RFC 3339, a date \(YYYY-MM-DD\) or ms since the epoch/,
    );
    usage(
      await cli(['drift', '--offline', off, '--group', 'perf_5min', ...periods, '--format', 'pdf']),
      /argument 'pdf' is invalid/,
    );
    const a = await cli([
      'drift',
      '--offline',
      'postgres://postgres@127.0.0.1:5432/test?schema=fs_no_such_schema',
      '--group',
      'perf_5min',
      ...periods,
    ]);
    expect(a.code, a.stderr).toBe(2);
    oneLine(
      a,
      /^featurestream: --offline: no feature store in postgres:\/\/postgres@127\.0\.0\.1:5432\/test \(schema fs_no_such_schema\): run `featurestream db migrate`/,
    );
    const b = await cli([
      'drift',
      '--offline',
      'postgres://postgres@127.0.0.1:5432/fs_no_such_db',
      '--group',
      'perf_5min',
      ...periods,
    ]);
    expect(b.code, b.stderr).toBe(2);
    oneLine(
      b,
      /^featurestream: --offline postgres:\/\/postgres@127\.0\.0\.1:5432\/fs_no_such_db: database "fs_no_such_db" does not exist: create it \(createdb\) or fix the URL$/,
    );
    usage(
      await cli(['quality', '--offline', off, '--window', 'xyz']),
      /--window must be a duration such as 90s, 30m, 24h or 7d, got "xyz"/,
    );
    usage(
      await cli(['quality', '--offline', off, '--at', 'yesterday']),
      /--at must be RFC 3339, a date or ms since the epoch, got "yesterday"/,
    );
    // The topology that wrote the group names its features: an unknown one → 2, naming --topology.
    usage(
      await cli(['drift', '--offline', off, '--group', 'perf_5min', ...periods, '--topology', 'nope']),
      /--topology: unknown topology "nope"/,
    );
    usage(
      await cli(['quality', '--offline', off, '--topology', 'nope']),
      /--topology: unknown topology "nope"/,
    );
    const q = await cli(['quality', '--offline', 'postgres://postgres@127.0.0.1:5432/fs_no_such_db']);
    expect(q.code, q.stderr).toBe(2);
    oneLine(q, /^featurestream: --offline \S+fs_no_such_db: database "fs_no_such_db" does not exist/);
  });

  it('replay and diff: a reversed range, a missing input or version, a busy state dir, a file that is not a topology → 2 / 3', async () => {
    const d = sub('replay');
    const range = ['--from', '2025-01-15T10:00:00Z', '--to', '2025-01-15T14:00:00Z'];
    const out = ['--feature-version', '2', '--out', join(d, 'r.ndjson')];
    const a = await cli([
      'replay',
      '--input',
      events,
      '--from',
      '2025-01-15T14:00:00Z',
      '--to',
      '2025-01-15T10:00:00Z',
      ...out,
    ]);
    expect(a.code).toBe(2);
    oneLine(a, /^featurestream: --to must be after --from/);
    const b = await cli(['replay', '--input', join(d, 'nope.ndjson'), ...range, ...out]);
    expect(b.code).toBe(2);
    oneLine(b, /^featurestream: --input: no such file or directory: \S+nope\.ndjson$/);
    usage(
      await cli(['replay', '--input', events, ...range, '--out', join(d, 'r.ndjson')]),
      /required option '--feature-version <n>' not specified/,
    );
    // With no --out, --online or --offline a replay writes the embedded default's stores (the
    // first-hour journey, issue 29), so "nowhere to write" is no longer a misuse.
    const notTopology = join(d, 'notes.json');
    writeFileSync(notTopology, '{"name": "just some json"}');
    const t = await cli(['replay', '--input', events, ...range, ...out, '--topology', notTopology]);
    expect(t.code).toBe(2);
    oneLine(t, /^featurestream: topology file \S+notes\.json: field `schemaVersion` must be 1, got nothing$/);
    const state = join(d, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'featurestream.lock'), stamp(livePid));
    const busy = await cli(['replay', '--input', events, ...range, ...out, '--state-dir', state]);
    expect(busy.code, busy.stderr).toBe(3);
    oneLine(busy, new RegExp(`is in use by featurestream pid ${livePid}`));
    const off = `embedded:${join(d, 'offline')}`;
    usage(
      await cli(['diff', '--offline', off, '--group', 'perf_5min', '--versions', '1', ...range]),
      /--versions must be two positive integers A,B, got "1"/,
    );
    const r = await cli([
      'diff',
      '--offline',
      off,
      '--group',
      'perf_5min',
      '--versions',
      '1,2',
      '--from',
      '2025-01-15',
      '--to',
      '2025-01-14',
    ]);
    expect(r.code).toBe(2);
    oneLine(r, /^featurestream: --to must be after --from/);
  });

  it('workflow, export, training-set, db, run: unknown subcommands, reversed ranges, missing inputs and databases, a YAML file that is not YAML → 2', async () => {
    const d = sub('more');
    const off = `embedded:${join(d, 'offline')}`;
    usage(await cli(['workflow', 'nope']), /^error: unknown command 'nope'/);
    const e = await cli([
      'export',
      '--offline',
      off,
      '--group',
      'perf_5min',
      '--from',
      '2025-01-15',
      '--to',
      '2025-01-14',
    ]);
    expect(e.code).toBe(2);
    oneLine(e, /^featurestream: --to must be after --from/);
    usage(
      await cli(['export', '--offline', off, '--group', 'perf_5min', '--version', 'x']),
      /--version must be a positive integer, got "x"/,
    );
    const t = await cli(['training-set', '--features', 'PERF_001', '--offline', off]);
    expect(t.code).toBe(2);
    oneLine(t, /^featurestream: training-set: --entities is required \(--kind llm\)$/);
    const w = await cli([
      'training-set',
      '--kind',
      'workflow',
      '--input',
      join(d, 'nope.ndjson'),
      '--out',
      join(d, 'x.ndjson'),
    ]);
    expect(w.code).toBe(2);
    oneLine(w, /^featurestream: training-set: --input \S+nope\.ndjson does not exist$/);
    const m = await cli(['db', 'migrate', '--offline', 'postgres://postgres@127.0.0.1:5432/fs_no_such_db']);
    expect(m.code, m.stderr).toBe(2);
    oneLine(
      m,
      /^featurestream: --offline postgres:\/\/postgres@127\.0\.0\.1:5432\/fs_no_such_db: database "fs_no_such_db" does not exist: create it \(createdb\) or fix the URL$/,
    );
    const bad = join(d, 'bad.yaml');
    writeFileSync(bad, 'nodes: 3\nfoo: [1,2\n');
    const y = await cli(run('--topology', bad, '--input', events, '--out', join(d, 'r.ndjson')));
    expect(y.code).toBe(2);
    oneLine(y, /^featurestream: topology file \S+bad\.yaml: not valid YAML: .+ at line 3, column 1$/);
    expect(y.stderr.trim().split('\n')).toHaveLength(1); // no code frame under it
  });
});
