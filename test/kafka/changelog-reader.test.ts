/**
 * The changelog reader (the consumer of its own group that restores shards) against a real
 * Kafka-protocol broker: a crash of its consumer that kafkajs does not recover from itself (a
 * non-retriable fetch error, injected with the test broker's `err` command) fails the read in
 * hand, and the reader restarts its consumer, so that the restore's retry reads the partition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangelogReader } from '../../src/connectors/kafka/changelog.js';
import { produce, startBroker, type TestBroker, testKafka } from './broker.js';

let broker: TestBroker;
const TOPIC = 'cl';

beforeAll(async () => {
  broker = await startBroker(1, [`${TOPIC}:2`]);
  await produce(
    broker,
    TOPIC,
    Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 })),
  );
}, 60_000);

afterAll(async () => {
  await broker?.stop();
});

async function readAll(reader: ChangelogReader): Promise<string[]> {
  const got: string[] = [];
  await reader.read(0, 0, 10, (r) => got.push(`${r.offset}:${r.key}=${r.value}`));
  return got;
}

describe('ChangelogReader on a real broker', () => {
  it('a crash of its consumer fails the read in hand; the next read succeeds once it has rejoined', async () => {
    const reader = new ChangelogReader(testKafka(broker), TOPIC, {
      groupPrefix: 'clr',
      maxWaitTimeInMs: 100,
      // The test broker waits out the crashed member's session before the rejoin completes.
      sessionTimeout: 6000,
      heartbeatInterval: 500,
    });
    await reader.start();
    try {
      const expected = Array.from({ length: 10 }, (_, i) => `${i}:k${i}=v${i}`);
      expect(await readAll(reader)).toEqual(expected);
      // The next fetch answers TOPIC_AUTHORIZATION_FAILED (29): not retriable, kafkajs gives up.
      await broker.apply('err 1 29 1');
      await expect(readAll(reader)).rejects.toThrow(/authoriz/i);
      expect(await readAll(reader)).toEqual(expected);
    } finally {
      await reader.stop();
    }
  }, 60_000);
});
