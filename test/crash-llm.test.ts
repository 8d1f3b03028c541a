/**
 * Crash test over the full `llm-features` catalog (all nine groups: windows, sessions, keyed
 * processors behind the event-time sort buffer, the derived join) on the generated all-type
 * stream with late records and malformed lines: a run SIGKILLed at seeded random moments after
 * each attempt's own checkpoints, and restarted with the same --state-dir until it finishes,
 * writes the same rows, dead letters and late events as an uninterrupted run — as sets, with no
 * duplicate line — and the same per-group counts.
 *
 * It guards the restore of operator state, not only of source positions: a session window that
 * re-registered firing timers for sessions it had already fired (its watermark restored after
 * its keys) wrote extra revision-1 `feedback_session` rows after a restart.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeLlmEvents } from '../src/domains/llm/generate/llm-stream.js';
import { expectSameSet, runWithKills, timedRun } from './stores-support.js';
import { lines, summaryOf, tempDir } from './support.js';

const dir = tempDir('fs-crash-llm-');
const input = join(dir, 'events.ndjson');

function args(tag: string, workers: number): string[] {
  return [
    'run',
    '--topology',
    'llm-features',
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
    '--embedding-cache',
    join(dir, `${tag}-embeddings`),
    '--workers',
    String(workers),
    '--checkpoint-interval',
    '50',
    '--batch-lines',
    '512',
    '--summary-json',
  ];
}

describe('crash and restore, llm-features', () => {
  beforeAll(async () => {
    await writeLlmEvents(input, { events: 30_000, seed: 5, lateFraction: 0.005, badFraction: 0.002 });
  }, 60_000);

  it('all groups, with late records, SIGKILLed ≥ 4 times mid-run: equals an uninterrupted run', async () => {
    const clean = await timedRun(args('clean', 2), join(dir, 'clean-state'));
    expect(clean.result.code, clean.result.stderr).toBe(0);
    const { kills, final } = await runWithKills({
      args: (attempt) => args('crash', attempt % 2 === 0 ? 2 : 1),
      stateDir: join(dir, 'crash-state'),
      clean,
      kills: 4,
      seed: 20261203,
    });
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(summaryOf(final).resumedFrom, 'the last attempt resumed from a checkpoint').not.toBeNull();

    const a = summaryOf(clean.result);
    const b = summaryOf(final);
    expect(a.lateEvents, 'the stream has late records').toBeGreaterThan(0);
    expect(a.deadLetters, 'the stream has malformed lines').toBeGreaterThan(0);
    expectSameSet(lines(join(dir, 'crash-rows.ndjson')), lines(join(dir, 'clean-rows.ndjson')), 'rows');
    expectSameSet(lines(join(dir, 'crash-dl.ndjson')), lines(join(dir, 'clean-dl.ndjson')), 'dead letters');
    expectSameSet(
      lines(join(dir, 'crash-late.ndjson')),
      lines(join(dir, 'clean-late.ndjson')),
      'late events',
    );
    expect(b.eventsRead).toBe(a.eventsRead);
    expect(b.rowsWritten).toBe(a.rowsWritten);
    expect(b.rowsByGroup).toEqual(a.rowsByGroup);
    expect(b.deadLetters).toBe(a.deadLetters);
    expect(b.lateEvents).toBe(a.lateEvents);
  }, 180_000);
});
