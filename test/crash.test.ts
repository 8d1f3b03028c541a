/**
 * Crash test: a run killed with SIGKILL at random moments (at least 5 times) and restarted each
 * time with the same --state-dir produces the same rows, dead letters and late events as an
 * uninterrupted run — as sets, with no duplicate line. Run on `llm-perf` as shipped (exact
 * quantiles) and with its windows' quantiles bounded (sketches restored from checkpoints).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { lines, runCli, sleep, startCli, summaryOf, tempDir } from './support.js';

const dir = tempDir('fs-crash-');
const input = join(dir, 'events.ndjson.gz');

function args(tag: string, workers: string, topology: string): string[] {
  return [
    'run',
    '--topology',
    topology,
    '--input',
    input,
    '--out',
    join(dir, `${tag}-rows.ndjson`),
    '--dead-letters',
    join(dir, `${tag}-dl.ndjson`),
    '--late-events',
    join(dir, `${tag}-late.ndjson`),
    '--state-dir',
    join(dir, `${tag}-state`),
    '--workers',
    workers,
    '--checkpoint-interval',
    '50',
    '--batch-lines',
    '512',
    '--summary-json',
  ];
}

function expectSameSet(a: string[], b: string[], what: string): void {
  expect(new Set(a).size, `${what}: duplicates`).toBe(a.length);
  expect([...a].sort(), what).toEqual([...b].sort());
}

describe('crash and restore', () => {
  beforeAll(async () => {
    await writePerfEvents(input, {
      events: 150_000,
      seed: 3,
      models: 6,
      disorderMs: 150_000,
      lateFraction: 0.005,
      badFraction: 0.0005,
    });
  });

  it('SIGKILLed at random moments ≥ 5 times, then restarted, equals an uninterrupted run', async () => {
    await crashEqualsClean('exact', 'llm-perf');
  });

  it('the same with quantile sketches (exact up to 64 values per pane/window, then DDSketch)', async () => {
    const shown = await runCli(['topology', 'show', '--topology', 'llm-perf', '--format', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    const t = JSON.parse(shown.stdout) as { nodes: Array<{ kind: string; quantiles?: unknown }> };
    for (const n of t.nodes) if (n.kind === 'window') n.quantiles = { exactUpTo: 64 };
    const file = join(dir, 'llm-perf-sketch.json');
    writeFileSync(file, JSON.stringify(t));
    await crashEqualsClean('sketch', file);
    // The sketch path was taken: some quantile differs from the exact run's (same rows otherwise).
    const exactRows = join(dir, 'exact-clean-rows.ndjson');
    if (!existsSync(exactRows)) expect((await runCli(args('exact-clean', '2', 'llm-perf'))).code).toBe(0);
    const exact = lines(exactRows);
    const sketch = lines(join(dir, 'sketch-clean-rows.ndjson'));
    expect(sketch.length).toBe(exact.length);
    expect(new Set(sketch)).not.toEqual(new Set(exact));
  });
});

async function crashEqualsClean(tag: string, topology: string): Promise<void> {
  {
    const t0 = performance.now();
    const clean = await runCli(args(`${tag}-clean`, '2', topology));
    const cleanMs = performance.now() - t0;
    expect(clean.code, clean.stderr).toBe(0);

    // Seeded so a failure can be replayed. Each attempt lives 300 ms (about the process's
    // start-up) plus at most a seventh of a whole run, so at least 5 kills land before the end.
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let kills = 0;
    let final = null as Awaited<ReturnType<typeof runCli>> | null;
    for (let attempt = 0; attempt < 40 && final === null; attempt++) {
      const child = startCli(args(`${tag}-crash`, attempt % 2 === 0 ? '2' : '1', topology));
      const delay = kills < 5 ? 300 + (rand() * Math.max(100, cleanMs - 300)) / 7 : 120_000;
      const done = await Promise.race([child.result, sleep(delay).then(() => null)]);
      if (done !== null) {
        expect(done.code, done.stderr).toBe(0);
        final = done;
        break;
      }
      child.kill('SIGKILL');
      const r = await child.result;
      expect(r.signal).toBe('SIGKILL');
      kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(final).not.toBeNull();

    const file = (name: string) => lines(join(dir, `${tag}-${name}.ndjson`));
    expectSameSet(file('crash-rows'), file('clean-rows'), 'rows');
    expectSameSet(file('crash-dl'), file('clean-dl'), 'dead letters');
    expectSameSet(file('crash-late'), file('clean-late'), 'late events');
    const a = summaryOf(clean);
    const b = summaryOf(final!);
    expect(b.eventsRead).toBe(a.eventsRead);
    expect(b.rowsWritten).toBe(a.rowsWritten);
    expect(b.deadLetters).toBe(a.deadLetters);
    expect(b.lateEvents).toBe(a.lateEvents);
  }
}
