import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  guardStoppedRunnerFetch,
  kafkajsRunnerPrototype,
  StoppedRunnerFetchError,
  unguardedRunnerFetch,
} from './runner-guard.js';

/**
 * The race that makes a stopped runner's fetchers spin (the runner stops while kafkajs re-creates
 * its fetchers after a broker left) cannot be caused on demand against a broker, so these tests
 * drive kafkajs' own fetcher loop (`kafkajs/src/consumer/fetcher.js`) with its own
 * `Runner.prototype.fetch` on a stopped runner: exactly the state the profile showed.
 */
const require = createRequire(import.meta.url);
type Fetch = (nodeId: number) => Promise<unknown[]>;
const createFetcher = require('kafkajs/src/consumer/fetcher.js') as (o: {
  nodeId: number;
  workerQueue: { push: (...b: unknown[]) => Promise<void> };
  partitionAssignments: Map<string, number>;
  fetch: Fetch;
  logger: unknown;
}) => { start: () => Promise<void> };

const quiet = {
  namespace: () => quiet,
  info: () => undefined,
  debug: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A runner object of kafkajs' class, stopped (as after `runner.stop()`). */
function stoppedRunner(): { running: boolean; fetch: Fetch } {
  const r = Object.create(kafkajsRunnerPrototype()) as { running: boolean; fetch: Fetch };
  Object.assign(r, { running: false, logger: quiet, consumerGroup: { groupId: 'g', memberId: 'm' } });
  return r;
}

/** Runs kafkajs' fetcher loop over `fetch`, failing with 'spinning' past `cap` calls. */
async function fetcherLoop(fetch: Fetch, cap = 10_000): Promise<{ calls: number; error: unknown }> {
  let calls = 0;
  const fetcher = createFetcher({
    nodeId: 1,
    workerQueue: { push: async () => undefined },
    partitionAssignments: new Map(),
    fetch: async (n) => {
      if (++calls > cap) throw new Error('spinning');
      return fetch(n);
    },
    logger: quiet,
  });
  const error = await fetcher.start().then(
    () => null,
    (e: unknown) => e,
  );
  return { calls, error };
}

describe('kafkajs runner guard', () => {
  it("without it, kafkajs' fetcher loops on a stopped runner's empty answers", async () => {
    const r = stoppedRunner();
    const kafkajsFetch = unguardedRunnerFetch();
    const res = await fetcherLoop((n) => kafkajsFetch.call(r, n));
    expect(res.calls).toBe(10_001);
    expect(String(res.error)).toContain('spinning');
  });

  it('with it, the fetcher ends at its first fetch on a stopped runner', async () => {
    guardStoppedRunnerFetch();
    const r = stoppedRunner();
    const res = await fetcherLoop((n) => r.fetch(n));
    expect(res.calls).toBe(1);
    expect(res.error).toBeInstanceOf(StoppedRunnerFetchError);
    expect((res.error as StoppedRunnerFetchError).retriable).toBe(true);
  });

  it("a running runner's fetch is kafkajs' own, and installing twice wraps once", async () => {
    guardStoppedRunnerFetch();
    const wrapped = kafkajsRunnerPrototype().fetch;
    guardStoppedRunnerFetch();
    expect(kafkajsRunnerPrototype().fetch).toBe(wrapped);
    const r = stoppedRunner();
    const batch = { topic: 't', partition: 0 };
    const emitted: string[] = [];
    Object.assign(r, {
      running: true,
      consumerGroup: { groupId: 'g', memberId: 'm', fetch: async () => [batch] },
      instrumentationEmitter: { emit: (e: string) => emitted.push(e) },
    });
    const got = (await r.fetch(1)) as unknown[];
    // kafkajs' fetch wraps each batch and emits its fetch events; the guard only passes it on.
    expect(got).toHaveLength(1);
    expect(emitted.length).toBeGreaterThan(0);
  });
});
