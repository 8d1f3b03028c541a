/**
 * Crash test: a run killed with SIGKILL at random moments (at least 5 times) and restarted each
 * time with the same --state-dir produces the same rows, dead letters and late events as an
 * uninterrupted run — as sets, with no duplicate line.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePerfEvents } from '../src/generate/perf-stream.js';
import { lines, runCli, sleep, startCli, summaryOf, tempDir } from './support.js';

const dir = tempDir('fs-crash-');
const input = join(dir, 'events.ndjson.gz');

function args(tag: string, workers: string): string[] {
  return [
    'run',
    '--topology',
    'llm-perf',
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
    const t0 = performance.now();
    const clean = await runCli(args('clean', '2'));
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
      const child = startCli(args('crash', attempt % 2 === 0 ? '2' : '1'));
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

    expectSameSet(lines(join(dir, 'crash-rows.ndjson')), lines(join(dir, 'clean-rows.ndjson')), 'rows');
    expectSameSet(lines(join(dir, 'crash-dl.ndjson')), lines(join(dir, 'clean-dl.ndjson')), 'dead letters');
    expectSameSet(
      lines(join(dir, 'crash-late.ndjson')),
      lines(join(dir, 'clean-late.ndjson')),
      'late events',
    );
    const a = summaryOf(clean);
    const b = summaryOf(final!);
    expect(b.eventsRead).toBe(a.eventsRead);
    expect(b.rowsWritten).toBe(a.rowsWritten);
    expect(b.deadLetters).toBe(a.deadLetters);
    expect(b.lateEvents).toBe(a.lateEvents);
  });
});
