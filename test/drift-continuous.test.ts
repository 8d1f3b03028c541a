/**
 * Continuous drift in the crash test's topology (llm-perf): turning it on adds rows of group
 * `drift` and changes no other group's rows; SIGKILLed and resumed, a run writes the same drift
 * rows and alerts as an uninterrupted one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { lines, runCli, sleep, startCli, summaryOf, tempDir } from './support.js';

const dir = tempDir('fs-drift-run-');
const input = join(dir, 'events.ndjson.gz');

function args(tag: string, drift: boolean): string[] {
  return [
    'run',
    '--topology',
    'llm-perf',
    '--input',
    input,
    '--out',
    join(dir, `${tag}-rows.ndjson`),
    '--state-dir',
    join(dir, `${tag}-state`),
    '--workers',
    '2',
    '--checkpoint-interval',
    '50',
    '--batch-lines',
    '512',
    '--summary-json',
    ...(drift
      ? [
          '--drift',
          'perf_5min,perf_1hr',
          '--drift-current',
          '30m',
          '--drift-reference',
          '1h',
          '--drift-delay',
          '20m',
          '--drift-min-samples',
          '5',
          '--drift-alerts',
          join(dir, `${tag}-alerts.ndjson`),
        ]
      : []),
  ];
}

const groupOf = (line: string) => (JSON.parse(line) as { group: string }).group;
const alerts = (tag: string) => {
  const f = join(dir, `${tag}-alerts.ndjson`);
  return existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
};

describe('continuous drift in a running topology', () => {
  beforeAll(async () => {
    await writePerfEvents(input, {
      events: 60_000,
      seed: 3,
      models: 6,
      disorderMs: 150_000,
      lateFraction: 0.005,
      badFraction: 0.0005,
    });
  });

  it('adds drift rows without changing the other groups; a crashed run writes the same', async () => {
    const plain = await runCli(args('plain', false));
    expect(plain.code, plain.stderr).toBe(0);
    const t0 = performance.now();
    const withDrift = await runCli(args('drift', true));
    const runMs = performance.now() - t0;
    expect(withDrift.code, withDrift.stderr).toBe(0);

    const plainRows = lines(join(dir, 'plain-rows.ndjson'));
    const driftRun = lines(join(dir, 'drift-rows.ndjson'));
    const driftRows = driftRun.filter((l) => groupOf(l) === 'drift');
    const others = driftRun.filter((l) => groupOf(l) !== 'drift');
    // Shards answer in any order: rows compare as sorted lists (as in the crash test).
    expect([...others].sort()).toEqual([...plainRows].sort());
    expect(driftRows.length).toBeGreaterThan(0);
    expect(summaryOf(withDrift).rowsByGroup).toMatchObject({ drift: driftRows.length });
    const first = JSON.parse(driftRows[0]!) as { entity_type: string; entity_id: string; values: object };
    expect(first.entity_type).toBe('feature');
    expect(first.entity_id).toMatch(/^perf_(5min|1hr)\/[a-z0-9_]+\/.+/);
    expect(Object.keys(first.values)).toEqual(
      expect.arrayContaining(['status', 'severity', 'score', 'psi', 'ks_statistic', 'ks_p_value', 'z']),
    );
    expect(driftRun.join('\n')).not.toMatch(/NaN|Infinity/);
    // Evaluated boundaries: evaluations with data in the current window at least twice.
    const ends = new Set(driftRows.map((l) => (JSON.parse(l) as { window_end: string }).window_end));
    expect(ends.size).toBeGreaterThanOrEqual(2);
    const alertCount = driftRows.filter(
      (l) => (JSON.parse(l) as { values: { status: number } }).values.status === 2,
    ).length;
    expect(alerts('drift')).toHaveLength(alertCount);

    // SIGKILLed at seeded moments, then resumed with the same state dir.
    let seed = 777;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let kills = 0;
    let final = null as Awaited<ReturnType<typeof runCli>> | null;
    for (let attempt = 0; attempt < 20 && final === null; attempt++) {
      const child = startCli(args('crash', true));
      const delay = kills < 3 ? 300 + (rand() * Math.max(100, runMs - 300)) / 4 : 120_000;
      const done = await Promise.race([child.result, sleep(delay).then(() => null)]);
      if (done !== null) {
        expect(done.code, `exit signal ${done.signal}; stderr: ${done.stderr}`).toBe(0);
        final = done;
        break;
      }
      child.kill('SIGKILL');
      await child.result;
      kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const crashRows = lines(join(dir, 'crash-rows.ndjson'));
    expect([...crashRows].sort()).toEqual([...driftRun].sort());
    expect([...alerts('crash')].sort()).toEqual([...alerts('drift')].sort());
  });
});
