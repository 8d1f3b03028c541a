/**
 * A shard that finished its bounded run still gets frames: a source stage that restarted sends
 * again what it sent before its last commit (it is at least once; the shard drops the replays).
 * The shard's position moves past them, and the group offset committed for its partition must
 * never run ahead of the position in its changelog: the next owner restores the changelog's
 * position, and kafkajs, fetching from the group offset, would hand it frames after a gap, which
 * it refuses as lost ("lost frames … retention too short"), failing on every restart.
 *
 * Found by the failover soak (`FEATURESTREAM_KAFKA_SOAK`), where it happened once in 24 kills;
 * here it is made to happen: a finished run, a frame sent again into a shard partition, a live
 * member that reads it, another frame, and a member that restores the shard and must finish.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { internalTopics } from '../../src/runtime/kafka/job.js';
import { tempDir } from '../support.js';
import {
  brokerWithEventsForFile,
  comparisonLines,
  folderLines,
  kafkaArgs,
  runnerSummary,
  startRunner,
  testKafka,
  within,
} from './broker.js';

const dir = tempDir('fs-kafka-done-shard-');
const broker = brokerWithEventsForFile(1, 'events', 4, comparisonLines(6000, 23));
const group = 'done-shard';
const { repartition } = internalTopics(group, 'llm-features');

const clients: Array<{ disconnect(): Promise<void> }> = [];
afterAll(async () => {
  for (const c of clients) await c.disconnect().catch(() => undefined);
});

/** The committed group offset of the repartition topic's partition 0 (−1: none). */
async function committedShardOffset(): Promise<number> {
  const admin = testKafka(broker).admin();
  await admin.connect();
  try {
    const offs = await admin.fetchOffsets({ groupId: group, topics: [repartition] });
    const p0 = offs[0]?.partitions.find((x) => x.partition === 0);
    return p0 === undefined ? -1 : Number(p0.offset);
  } finally {
    await admin.disconnect();
  }
}

/** Sends partition 0's first frame again, as a source stage that restarted would. */
async function sendFirstFrameAgain(): Promise<void> {
  const kafka = testKafka(broker);
  const consumer = kafka.consumer({ groupId: `${group}-reader-${Date.now()}`, maxWaitTimeInMs: 100 });
  clients.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topics: [repartition], fromBeginning: true });
  const first = await new Promise<{ key: Buffer | null; value: Buffer | null }>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (partition === 0) resolve({ key: message.key, value: message.value });
      },
    });
  });
  await consumer.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: repartition, acks: -1, messages: [{ partition: 0, ...first }] });
  await producer.disconnect();
}

describe('kafka: a finished shard that gets frames sent again', () => {
  it('checkpoints the position it moved to, so its next owner restores it and finishes', async () => {
    const args = (tag: string, live = false) => {
      const a = kafkaArgs({ broker, topic: 'events', group, dir, tag, extra: ['--shards', '4'] });
      return live ? a.filter((x) => x !== '--stop-at-end') : a;
    };
    // A bounded run to its end: every shard is done.
    const runA = startRunner(args('a'));
    const a = await within(runA.result, 120_000, 'the first run', { a: runA }, dir);
    expect(a.code, a.stderr.slice(-2000)).toBe(0);
    const rows = folderLines(join(dir, 'rows')).sort();
    const done = await committedShardOffset();
    expect(done).toBeGreaterThan(0);

    // A frame sent again; a live member restores the done shard and reads it (its position moves).
    await sendFirstFrameAgain();
    const b = startRunner(args('b', true));
    const deadline = Date.now() + 60_000;
    while ((await committedShardOffset()) < done + 1) {
      if (Date.now() > deadline)
        throw new Error(`member b did not commit past ${done}: ${b.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    b.child.kill('SIGTERM');
    const rb = await within(b.result, 60_000, 'member b to stop', { b }, dir);
    expect(rb.code, rb.stderr.slice(-2000)).toBe(0);

    // Another frame after it: the next member fetches from the group offset while it restores.
    await sendFirstFrameAgain();
    const runC = startRunner(args('c'));
    const c = await within(runC.result, 120_000, 'the last run', { c: runC }, dir);
    expect(c.code, c.stderr.slice(-2000)).toBe(0);
    expect(runnerSummary(c.stdout).stoppedBy).toBe('end');
    // Frames sent again change nothing.
    expect(folderLines(join(dir, 'rows')).sort()).toEqual(rows);
  }, 300_000);
});
