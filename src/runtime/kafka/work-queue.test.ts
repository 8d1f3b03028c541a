import { describe, expect, it } from 'vitest';
import type { Work } from '../loop.js';
import { WorkQueue } from './work-queue.js';

/** A unit that records whether it ran and how it was settled. */
function unit(name: string, log: string[]): Work {
  return {
    exclusive: false,
    run: async () => void log.push(`run ${name}`),
    settle: (err) => void log.push(`settled ${name} ${err === null ? 'ok' : String(err)}`),
  };
}

async function take(q: WorkQueue, n: number): Promise<Work[]> {
  const out: Work[] = [];
  for await (const w of q.work()) {
    out.push(w);
    if (out.length === n) break;
  }
  return out;
}

describe('WorkQueue', () => {
  it('hands units over in the order they were pushed, waiting for the next one', async () => {
    const q = new WorkQueue();
    const log: string[] = [];
    q.push(unit('a', log));
    const taking = take(q, 2);
    setTimeout(() => q.push(unit('b', log)), 5);
    const got = await taking;
    for (const w of got) await w.run();
    expect(log).toEqual(['run a', 'run b']);
  });

  it('ends the work at end(): queued units and later pushes are settled without running', async () => {
    const q = new WorkQueue();
    const log: string[] = [];
    q.push(unit('queued', log));
    q.end();
    const got = await take(q, 10);
    expect(got).toEqual([]);
    q.push(unit('late', log));
    expect(log).toEqual(['settled queued ok', 'settled late ok']);
  });

  it('fails the work at fail(), with the error', async () => {
    const q = new WorkQueue();
    const taking = take(q, 1);
    q.fail(new Error('consumer crashed for good'));
    await expect(taking).rejects.toThrow('consumer crashed for good');
  });
});
