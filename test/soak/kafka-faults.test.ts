/**
 * Fault soak (not in CI: set FEATURESTREAM_SOAK=1). A Kafka member runs a bounded job over a
 * long stream while the test broker injects request errors (`err APIKEY ERRCODE COUNT`:
 * produce, fetch, offset commit, heartbeat, metadata, find-coordinator) and its online store —
 * a private redis-server — is SIGKILLed and restarted, again and again. The member must finish
 * on its own with the rows and dead letters of an undisturbed file run over the same events,
 * every row once. Prints the figures (faults, restarts, retries logged, seconds).
 *
 * FEATURESTREAM_SOAK_EVENTS sets the stream's length (default 160,000; the test broker keeps ~200,000), FEATURESTREAM_SOAK_EVERY_MS
 * the time between faults (default 2,500), FEATURESTREAM_SOAK_FAULTS which (broker, redis, both),
 * FEATURESTREAM_SOAK_MAX_FAULTS how many before the faults stop (default: until the run ends),
 * FEATURESTREAM_SOAK_LOG a file the member's log goes to as it runs (to watch a long soak).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../../src/stores/private-redis.js';
import { sleep, tempDir } from '../support.js';
import {
  comparisonLines,
  fileRun,
  folderLines,
  kafkaArgs,
  rowDifferences,
  runnerSummary,
  startBrokerWithEvents,
  startRunner,
  type TestBroker,
} from '../kafka/broker.js';

const SOAK = process.env.FEATURESTREAM_SOAK === '1';
const EVENTS = Number(process.env.FEATURESTREAM_SOAK_EVENTS) || 160_000;
/** Milliseconds between faults (default 2,500; the first comes after the first checkpoint). */
const EVERY = Number(process.env.FEATURESTREAM_SOAK_EVERY_MS) || 2_500;
/** Which faults: `broker`, `redis` or `both` (default). */
const KINDS = process.env.FEATURESTREAM_SOAK_FAULTS ?? 'both';
/** Stop injecting after this many faults (default: until the run ends), to see it recover. */
const MAX_FAULTS = Number(process.env.FEATURESTREAM_SOAK_MAX_FAULTS) || Number.POSITIVE_INFINITY;

/** Retriable broker errors by API: [api key, error code, name]. */
const FAULTS: ReadonlyArray<readonly [number, number, string]> = [
  [0, 6, 'Produce NOT_LEADER_FOR_PARTITION'],
  [0, 7, 'Produce REQUEST_TIMED_OUT'],
  [1, 6, 'Fetch NOT_LEADER_FOR_PARTITION'],
  [1, 13, 'Fetch NETWORK_EXCEPTION'],
  [8, 16, 'OffsetCommit NOT_COORDINATOR'],
  [8, 14, 'OffsetCommit COORDINATOR_LOAD_IN_PROGRESS'],
  [12, 27, 'Heartbeat REBALANCE_IN_PROGRESS'],
  [3, 5, 'Metadata LEADER_NOT_AVAILABLE'],
  [10, 15, 'FindCoordinator COORDINATOR_NOT_AVAILABLE'],
];

/** FEATURESTREAM_SOAK_ONLY=API:CODE,…: inject only these broker errors (e.g. `8:16`). */
const ONLY = (process.env.FEATURESTREAM_SOAK_ONLY ?? '').split(',').filter((x) => x !== '');
const BROKER_FAULTS =
  ONLY.length === 0 ? FAULTS : FAULTS.filter(([api, code]) => ONLY.includes(`${api}:${code}`));

describe.skipIf(!SOAK)('soak: a Kafka member under broker errors and Redis restarts', () => {
  const dir = tempDir('fs-soak-');
  const lines = comparisonLines(EVENTS, 71);
  let broker: TestBroker;
  let redis: PrivateRedis;
  let reference: Awaited<ReturnType<typeof fileRun>>;

  beforeAll(async () => {
    broker = await startBrokerWithEvents(3, 'events', 8, lines);
    redis = await PrivateRedis.start();
    reference = await fileRun(dir, lines);
  }, 300_000);

  afterAll(async () => {
    await broker?.stop();
    await redis?.stop();
  });

  it('finishes with the rows and dead letters of an undisturbed run', async () => {
    const started = performance.now();
    const r = startRunner(
      kafkaArgs({
        broker,
        topic: 'events',
        group: 'soak',
        dir,
        tag: 'a',
        extra: ['--online', redis.url, '--fetch-max-bytes', '32768', '--log-level', 'debug'],
      }),
    );
    const log = process.env.FEATURESTREAM_SOAK_LOG;
    if (log !== undefined && log !== '') r.child.stderr!.on('data', (d: string) => appendFileSync(log, d));
    let exited = false;
    void r.result.then(() => {
      exited = true;
    });
    // Faults once the member works: set up, shards restored, a first checkpoint committed.
    await Promise.race([r.waitForLog((e) => e.msg === 'shard checkpoint committed'), r.result]);
    const injected = new Map<string, number>();
    let restarts = 0;
    for (
      let i = 0;
      !exited && restarts + [...injected.values()].reduce((a, b) => a + b / 3, 0) < MAX_FAULTS;
      i++
    ) {
      await sleep(EVERY);
      if (exited) break;
      const redisTurn = KINDS === 'redis' || (KINDS === 'both' && i % 4 === 3);
      if (redisTurn) {
        // Redis gone for a moment: the member's writes wait (backpressure) and retry.
        await redis.stop();
        await sleep(800);
        await redis.start();
        restarts++;
      } else {
        const [api, code, name] = BROKER_FAULTS[i % BROKER_FAULTS.length]!;
        if (KINDS === 'redis') continue;
        await broker.apply(`err ${api} ${code} 3`);
        injected.set(name, (injected.get(name) ?? 0) + 3);
      }
    }
    const res = await r.result;
    const seconds = (performance.now() - started) / 1000;
    writeFileSync(join(dir, 'a.stderr.log'), res.stderr);
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    const summary = runnerSummary(res.stdout);
    expect(summary.stoppedBy).toBe('end');
    const rows = folderLines(join(dir, 'rows'));
    expect(rowDifferences(rows, reference.rows)).toEqual([]);
    expect(new Set(rows).size).toBe(rows.length);
    const key = (d: { reason: string; raw: string }) => `${d.reason}\t${d.raw}`;
    const dl = folderLines(join(dir, 'dl')).map((l) => JSON.parse(l) as { reason: string; raw: string });
    expect(dl.map(key).sort()).toEqual(reference.deadLetters.map(key).sort());
    const logged = (what: RegExp) => res.stderr.split('\n').filter((l) => what.test(l)).length;
    // A run that ended before the first fault proves nothing: lengthen the stream
    // (FEATURESTREAM_SOAK_EVENTS) or shorten FEATURESTREAM_SOAK_EVERY_MS.
    expect(injected.size + restarts, 'no fault was injected before the run ended').toBeGreaterThan(0);
    process.stdout.write(
      `${JSON.stringify({
        events: lines.length,
        rows: rows.length,
        deadLetters: dl.length,
        seconds: Number(seconds.toFixed(1)),
        brokerErrorsInjected: Object.fromEntries(injected),
        redisRestarts: restarts,
        sinkRetryLines: logged(/retry/i),
        batchRetries: logged(/batch failed; kafkajs retries it/),
        consumerCrashes: logged(/kafka consumer crashed/),
        rebalances: summary.rebalances,
        checkpoints: summary.checkpoints,
      })}\n`,
    );
  }, 900_000);
});
