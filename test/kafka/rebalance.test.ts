/**
 * Rebalances on a real Kafka-protocol broker (the project's test broker (test/kafka/mockbroker)): member A
 * runs alone; member B joins mid-run, so A gives up partitions (checkpointing first when it sees
 * the rebalance inside a batch; kafkajs has no revoke callback, so that is best effort) and B
 * restores the shards it is given from the changelog before processing them; then A is stopped
 * with SIGTERM (finish the batch, checkpoint, leave the group, exit 0) and B takes the rest over.
 * The rows must equal a file run (`runJob`) over the same events. B's Prometheus endpoint shows
 * the restore time, the rebalances and the consumer lag per partition.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sleep, tempDir } from '../support.js';
import {
  comparisonLines,
  fileRun,
  folderLines,
  kafkaArgs,
  rowDifferences,
  runnerSummary,
  brokerWithEventsForFile,
  startRunner,
  within,
} from './broker.js';
import { freePort } from '../../src/shared/free-port.js';

const dir = tempDir('fs-kafka-rebalance-');
const lines = comparisonLines(40_000, 17);
const broker = brokerWithEventsForFile(3, 'events', 8, lines);
let reference: Awaited<ReturnType<typeof fileRun>>;

beforeAll(async () => {
  reference = await fileRun(dir, lines);
}, 120_000);

describe('kafka: rebalances and graceful stop', () => {
  it('a member joining and a member leaving on SIGTERM hand shards over through the changelog', async () => {
    const port = await freePort();
    const args = (tag: string, extra: string[] = []) =>
      kafkaArgs({
        broker,
        topic: 'events',
        group: 'rebalance',
        dir,
        tag,
        extra: ['--log-level', 'debug', '--fetch-max-bytes', '16384', ...extra],
      });
    const a = startRunner(args('a'));
    const runners: Parameters<typeof within>[3] = { a };
    await within(
      a.waitForLog((e) => e.msg === 'shard checkpoint committed'),
      60_000,
      'A to checkpoint',
      runners,
      dir,
    );
    const b = startRunner(args('b', ['--metrics-port', String(port)]));
    runners.b = b;
    // B joins: the group rebalances and B is given a share, restored from the changelog.
    const bRestore = await within(
      b.waitForLog((e) => e.msg === 'shards restored' && (e.shards as number[]).length > 0),
      60_000,
      'B to restore its first shards',
      runners,
      dir,
    );
    expect(bRestore.changelogRecords as number, 'B restored state A had checkpointed').toBeGreaterThan(0);
    // A leaves gracefully.
    a.child.kill('SIGTERM');
    const ra = await within(a.result, 60_000, 'A to stop', runners, dir);
    expect(ra.code, ra.stderr.slice(-2000)).toBe(0);
    expect(runnerSummary(ra.stdout).stoppedBy).toBe('signal');

    // B's metrics while it runs: restore time, rebalances, lag per partition. The lag gauge is
    // set on assignment, before B's sources have gathered a chunk, so wait for B's first
    // produce request of frames as well.
    const count = (text: string, name: string) =>
      Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const ready = (text: string) =>
      text.includes('featurestream_kafka_consumer_lag{') &&
      count(text, 'featurestream_kafka_repartition_requests_total') > 0;
    let metrics = '';
    for (let i = 0; i < 150 && !ready(metrics); i++) {
      metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
      if (!ready(metrics)) await sleep(200);
    }
    expect(metrics).toMatch(/featurestream_kafka_restore_seconds_count [1-9]/);
    expect(metrics).toMatch(/featurestream_kafka_rebalances_total [1-9]/);
    expect(metrics).toMatch(/featurestream_kafka_consumer_lag\{topic="[^"]+",partition="\d+"\}/);
    // Frames and the produce requests that carried them are counted (a request carries at least
    // one chunk's frames, one per shard).
    const frames = count(metrics, 'featurestream_kafka_repartition_frames_total');
    const requests = count(metrics, 'featurestream_kafka_repartition_requests_total');
    expect(requests).toBeGreaterThan(0);
    expect(frames).toBeGreaterThan(requests);

    const rb = await within(b.result, 90_000, 'B to finish', runners, dir);
    writeFileSync(join(dir, 'a.stderr.log'), ra.stderr);
    writeFileSync(join(dir, 'b.stderr.log'), rb.stderr);
    expect(rb.code, rb.stderr.slice(-2000)).toBe(0);
    expect(runnerSummary(rb.stdout).stoppedBy).toBe('end');

    const rows = folderLines(join(dir, 'rows'));
    expect(rows.length).toBeGreaterThan(100);
    expect(rowDifferences(rows, reference.rows)).toEqual([]);
  }, 170_000);
});
