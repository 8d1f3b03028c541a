/**
 * A user's first hour (issue 29), walked on a fresh directory as docs/getting-started.md tells
 * it: the first command on the sample with one known shift (`run --shift gpt-4o:latency:3`),
 * then, with `serve` running beside them and no store argument anywhere: a feature read over
 * HTTP, `drift` (the shifted model's latency, and nothing else, has status `drift`), `export`,
 * `replay` into version 2 (written through the running server's push path) and `diff`, version 2
 * read from the same server without a restart, and `ui`. The server must keep answering reads
 * while the replay writes, and stop with Ctrl-C and exit 0 at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, startCli, tempDir } from './support.js';

const cwd = tempDir('fs-first-hour-');
const started: (ChildProcess & { result: Promise<CliResult> })[] = [];

afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts a long-running command and resolves with it and the address it prints. */
async function startServer(args: string[], pattern: RegExp) {
  const child = startCli(args, cwd);
  started.push(child);
  let out = '';
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: string) => {
      out += d;
      const m = pattern.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    child.on('close', async () =>
      reject(new Error(`${args.join(' ')} ended:\n${(await child.result).stderr}`)),
    );
  });
  return { child, address };
}

/** The parts of a `GET /features/…` answer the walk looks at. */
interface FeatureAnswer {
  features: Record<string, number | null>;
  statuses: Record<string, string>;
  metadata: { version: number };
}

interface DriftRow {
  entity_id: string;
  feature: string;
  status: string;
}

describe("a user's first hour", () => {
  it('walks run → serve + read, drift, export, replay + diff, ui with no store arguments', async () => {
    // The first command, on the sample with one known shift.
    const run = await runCli(['run', '--shift', 'gpt-4o:latency:3'], cwd);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/shift: gpt-4o latency ×3 from 2026-03-02T02:00:00Z to the end/);
    // The run's next drift command looks for the shift.
    const driftLine = /npx featurestream drift (.*)$/m.exec(run.stdout)?.[1];
    expect(driftLine).toContain('--features latency_p50_5min');

    const serve = await startServer(['serve', '--port', '0'], /listening on (http:\/\/\S+)/);
    const read = async (query: string) => {
      const res = await fetch(`${serve.address}/features/model/gpt-4o?${query}`);
      return { status: res.status, body: (await res.json()) as FeatureAnswer };
    };
    const v1 = await read('features=latency_p50_5min');
    expect(v1.status).toBe(200);
    expect(v1.body.statuses.latency_p50_5min).toBe('present');
    expect(typeof v1.body.features.latency_p50_5min).toBe('number');
    const v2Before = await read('features=latency_p50_5min&version=2&at=2026-03-02T01:30:00Z');
    expect(v2Before.body.statuses.latency_p50_5min).toBe('not_found');

    // Drift as the run printed it, per model, as JSON: the one shifted model drifts, no other.
    const drift = await runCli(
      ['drift', ...driftLine!.replace('--format text', '--format json').split(' ')],
      cwd,
    );
    expect(drift.code, drift.stderr).toBe(0);
    const rows = (JSON.parse(drift.stdout) as { features: DriftRow[] }).features;
    expect(rows.length).toBe(6); // six models × one feature
    const drifted = rows.filter((r) => r.status === 'drift').map((r) => `${r.entity_id}/${r.feature}`);
    expect(drifted).toEqual(['gpt-4o/latency_p50_5min']);
    // The whole group too: gpt-4o's latency features drift; its other features do not.
    const all = await runCli(
      [
        'drift',
        ...driftLine!
          .replace('--features latency_p50_5min ', '')
          .replace('--format text', '--format json')
          .split(' '),
      ],
      cwd,
    );
    expect(all.code, all.stderr).toBe(0);
    const gpt4o = (JSON.parse(all.stdout) as { features: DriftRow[] }).features.filter(
      (r) => r.entity_id === 'gpt-4o',
    );
    expect(
      gpt4o
        .filter((r) => r.status === 'drift')
        .map((r) => r.feature)
        .sort(),
    ).toEqual(['latency_p50_5min', 'latency_p95_5min', 'latency_p99_5min']);

    const exported = await runCli(
      ['export', '--group', 'perf_5min', '--format', 'csv', '--out', 'perf_5min.csv'],
      cwd,
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'perf_5min.csv'), 'utf8').split('\n').length).toBeGreaterThan(200);

    // Replay into version 2 while serve holds the stores: written through it, reads go on.
    const replay = startCli(
      [
        'replay',
        '--topology',
        'llm-perf',
        '--from',
        '2026-03-02T01:00:00Z',
        '--to',
        '2026-03-02T02:00:00Z',
        '--feature-version',
        '2',
        '--state-dir',
        '.featurestream/replay-v2',
        '--fresh',
      ],
      cwd,
    );
    let readsDuring = 0;
    while (replay.exitCode === null) {
      const r = await read('features=latency_p50_5min');
      expect(r.status).toBe(200);
      readsDuring++;
    }
    const replayed = await replay.result;
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stderr).toMatch(/held by featurestream serve pid \d+: writing through it/);
    expect(replayed.stdout).toMatch(/rows written\s+145 \(perf_1hr 74, perf_5min 71\)/);
    expect(readsDuring).toBeGreaterThan(0);

    const diff = await runCli(
      [
        'diff',
        '--group',
        'perf_5min',
        '--versions',
        '1,2',
        '--from',
        '2026-03-02T01:00:00Z',
        '--to',
        '2026-03-02T02:00:00Z',
      ],
      cwd,
    );
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/rows 71 → 71 \(only in v1: 0, only in v2: 0\)/);

    // Version 2 from the same server, no restart: online (L2) and point in time (L3).
    const v2 = await read('features=latency_p50_5min&version=2');
    expect(v2.body.statuses.latency_p50_5min).toBe('present');
    expect(v2.body.metadata.version).toBe(2);
    const v2At = await read('features=latency_p50_5min&version=2&at=2026-03-02T01:30:00Z');
    expect(v2At.body.statuses.latency_p50_5min).toBe('present');

    const ui = await startServer(['ui', '--port', '0'], /topology page: (http:\/\/\S+)/);
    const page = await fetch(`${ui.address}api/topology`);
    expect(page.status).toBe(200);

    for (const s of [ui, serve]) {
      s.child.kill('SIGINT');
      const r = await s.child.result;
      expect(r.code, r.stderr).toBe(0);
    }
    // The push path's announcement goes with the server.
    expect(existsSync(join(cwd, '.featurestream/default/offline/featurestream.push.json'))).toBe(false);
  }, 600_000);
});
