/**
 * Every broker of the cluster goes away for good while a member runs (the test broker's process
 * exits: connections are refused from then on). The member must stay a working process that
 * says what is wrong: it logs that the cluster is silent, answers its probes (its event loop
 * turns: kafkajs 2.2.4 could leave a stopped consumer's fetchers spinning in microtasks, see
 * src/connectors/kafka/runner-guard.ts), reports not ready, and stops on SIGTERM. When the
 * brokers come back it goes on (test/kafka/outage.test.ts). And a crash of the group consumer
 * that kafkajs does not recover from itself (a non-retriable fetch error, injected with the test
 * broker's `err` command) is counted, makes the member not ready, and is recovered by the job.
 * A member stopped while no broker answers skips its final checkpoint (it could not reach the
 * brokers); a member started once they are back resumes at the last checkpoint and ends with the
 * rows and dead letters of a file run: the skipped checkpoint loses nothing and doubles nothing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from '../stores-support.js';
import { sleep, tempDir } from '../support.js';
import {
  comparisonLines,
  fileRun,
  folderLines,
  kafkaArgs,
  rowDifferences,
  type RunnerChild,
  runnerSummary,
  brokerWithEventsForFile,
  startBrokerWithEvents,
  startRunner,
  type TestBroker,
  within,
} from './broker.js';
import { freePort } from '../../src/shared/free-port.js';

const dir = tempDir('fs-kafka-gone-');
const lines = comparisonLines(30_000, 29);
const broker = brokerWithEventsForFile(3, 'events', 8, lines);

/** GET a probe: its status, or 0 when nothing answered within 2 s. */
async function probe(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

/** Waits (at most `ms`) until `/readyz` answers `status`; the status it answered. */
function readyzBecomes(port: number, status: number, ms = 30_000): Promise<number> {
  return waitFor(
    `/readyz to answer ${status}`,
    async () => ((await probe(port, '/readyz')).status === status ? status : undefined),
    ms,
    250,
  );
}

/**
 * Starts a live member (no `--stop-at-end`: it would run for ever) serving `--metrics-port`, and
 * waits until it has restored its shards and says it is ready; it is killed when the test ends.
 */
async function startLiveMember(
  b: TestBroker,
  group: string,
  tag: string,
): Promise<{ r: RunnerChild; runners: Record<string, RunnerChild>; port: number }> {
  const port = await freePort();
  const args = kafkaArgs({
    broker: b,
    topic: 'events',
    group,
    dir,
    tag,
    extra: ['--metrics-port', String(port)],
  }).filter((a) => a !== '--stop-at-end');
  const r = startRunner(args);
  onTestFinished(() => {
    r.child.kill('SIGKILL');
  });
  const runners = { [tag]: r };
  await within(
    r.waitForLog((e) => e.msg === 'shards restored'),
    60_000,
    'shards restored',
    runners,
    dir,
  );
  expect(await readyzBecomes(port, 200), 'ready').toBe(200);
  return { r, runners, port };
}

describe('kafka: every broker gone for good', () => {
  it('the member says so, answers its probes, is not ready, and stops on SIGTERM without waiting out the retries', async () => {
    const { r, runners, port } = await startLiveMember(broker, 'gone', 'a');
    // Said at start, before kafkajs' first answer.
    expect((await r.waitForLog((e) => e.msg === 'connecting to kafka')).brokers).toEqual(broker.brokers);

    await broker.stop();
    // The process still turns its event loop: it answers, and says it is not ready once the
    // consumer has not heard from the cluster for the session timeout (5 s here).
    await within(
      r.waitForLog(
        (e) =>
          e.msg ===
          'no contact with the kafka cluster for longer than the session timeout: not ready; kafkajs keeps retrying',
      ),
      60_000,
      'the member to notice that no broker answers',
      runners,
      dir,
    );
    expect(await readyzBecomes(port, 503), '/readyz once no broker answers').toBe(503);
    expect((await probe(port, '/healthz')).status, '/healthz: alive (kafkajs retries)').toBe(200);
    const metrics = await probe(port, '/metrics');
    expect(metrics.body).toMatch(/^featurestream_kafka_consumer_lag\{/m);
    // Still answering, still not ready, a while later.
    await sleep(5000);
    expect((await probe(port, '/readyz')).status).toBe(503);

    // SIGTERM: no final checkpoint can reach the brokers, so the member stops as after a crash
    // (its shards resume at their last checkpoint) instead of waiting out kafkajs' retries.
    r.child.kill('SIGTERM');
    const res = await within(r.result, 120_000, 'the member to stop on SIGTERM', runners, dir);
    writeFileSync(join(dir, 'a.stderr.log'), res.stderr);
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(res.stderr).toContain('stopping without a final checkpoint: no contact with the kafka cluster');
    expect(runnerSummary(res.stdout).stoppedBy).toBe('signal');
  }, 300_000);
});

describe('kafka: the group consumer crashes', () => {
  it('it is counted and not ready until the job has restarted it and it has rejoined', async () => {
    const b2 = await startBrokerWithEvents(1, 'events', 2, lines.slice(0, 2000));
    try {
      const { r, runners, port } = await startLiveMember(b2, 'crash', 'c');
      // One fetch (API key 1) answers TOPIC_AUTHORIZATION_FAILED (29, not retriable): kafkajs'
      // consumer crashes and does not restart itself; the job restarts it (after 1 s).
      await b2.apply('err 1 29 1');
      const crash = await within(
        r.waitForLog((e) => e.msg === 'kafka consumer crashed'),
        60_000,
        'the consumer to crash',
        runners,
        dir,
      );
      expect(crash.restart).toBe(false);
      expect(String(crash.err)).toContain('Not authorized');
      expect(await readyzBecomes(port, 503, 10_000), 'not ready after the crash').toBe(503);
      expect((await probe(port, '/metrics')).body).toMatch(/^featurestream_kafka_consumer_crashes_total 1$/m);
      await within(
        r.waitForLog((e) => e.msg === 'restarting the kafka consumer'),
        30_000,
        'the job to restart the consumer',
        runners,
        dir,
      );
      expect(await readyzBecomes(port, 200), 'ready once rejoined').toBe(200);
      r.child.kill('SIGTERM');
      const res = await within(r.result, 60_000, 'the member to stop on SIGTERM', runners, dir);
      expect(res.code, res.stderr.slice(-2000)).toBe(0);
      expect(runnerSummary(res.stdout).stoppedBy).toBe('signal');
    } finally {
      await b2.stop();
    }
  }, 200_000);
});

describe('kafka: SIGTERM while no broker answers', () => {
  it('stops without a final checkpoint; a member started once the brokers are back gives the rows of a file run', async () => {
    const events = comparisonLines(30_000, 31);
    const b3 = await startBrokerWithEvents(3, 'events', 8, events);
    const dir3 = tempDir('fs-kafka-gone-exact-');
    try {
      const reference = await fileRun(dir3, events);
      const args = (tag: string) =>
        kafkaArgs({
          broker: b3,
          topic: 'events',
          group: 'gone-exact',
          dir: dir3,
          tag,
          // Small fetches, so that the run is still going when the brokers go down.
          extra: ['--log-level', 'debug', '--fetch-max-bytes', '16384'],
        });
      const a = startRunner(args('a'));
      onTestFinished(() => {
        a.child.kill('SIGKILL');
      });
      const runners: Parameters<typeof within>[3] = { a };
      await within(
        a.waitForLog((e) => e.msg === 'shard checkpoint committed'),
        60_000,
        'a checkpoint of A',
        runners,
        dir3,
      );
      await b3.apply('down -1');
      await within(
        a.waitForLog((e) => String(e.msg).startsWith('no contact with the kafka cluster')),
        60_000,
        'A to notice that no broker answers',
        runners,
        dir3,
      );
      a.child.kill('SIGTERM');
      const ra = await within(a.result, 120_000, 'A to stop on SIGTERM', runners, dir3);
      expect(ra.code, ra.stderr.slice(-2000)).toBe(0);
      expect(ra.stderr).toContain('stopping without a final checkpoint');
      expect(runnerSummary(ra.stdout).stoppedBy).toBe('signal');

      await b3.apply('up -1');
      const b = startRunner(args('b'));
      onTestFinished(() => {
        b.child.kill('SIGKILL');
      });
      runners.b = b;
      const rb = await within(b.result, 120_000, 'B to finish', runners, dir3);
      writeFileSync(join(dir3, 'a.stderr.log'), ra.stderr);
      writeFileSync(join(dir3, 'b.stderr.log'), rb.stderr);
      expect(rb.code, rb.stderr.slice(-3000)).toBe(0);
      expect(runnerSummary(rb.stdout).stoppedBy).toBe('end');
      // B restored what A had checkpointed before the outage.
      const restores = rb.stderr
        .split('\n')
        .filter((l) => l.includes('"shards restored"'))
        .map((l) => JSON.parse(l) as { changelogRecords: number });
      expect(restores.some((r) => r.changelogRecords > 0)).toBe(true);

      const rows = folderLines(join(dir3, 'rows'));
      expect(rows.length).toBeGreaterThan(100);
      expect(rowDifferences(rows, reference.rows)).toEqual([]);
      const key = (d: { reason: string; raw: string }) => `${d.reason}\t${d.raw}`;
      const dl = folderLines(join(dir3, 'dl')).map((l) => JSON.parse(l) as { reason: string; raw: string });
      expect(dl.map(key).sort()).toEqual(reference.deadLetters.map(key).sort());
    } finally {
      await b3.stop();
    }
  }, 400_000);
});
