import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker, testKafka } from '../../../test/kafka/broker.js';
import { FrameOutbox } from './frame-outbox.js';

// A real Kafka-protocol broker (librdkafka's mock cluster), as every Kafka test here.
let broker: TestBroker;
let kafka: Kafka;
let producer: Producer;

beforeAll(async () => {
  broker = await startBroker(1, ['outbox-a:4', 'outbox-b:2', 'outbox-c:1']);
  kafka = testKafka(broker);
  producer = kafka.producer({ maxInFlightRequests: 1, retry: { retries: 0 } });
  await producer.connect();
}, 60_000);

afterAll(async () => {
  await producer?.disconnect();
  await broker?.stop();
});

/** Every message of a topic as `partition → values`, offsets ascending. */
async function readAll(topic: string, expected: number): Promise<Map<number, string[]>> {
  const consumer = kafka.consumer({ groupId: `outbox-read-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const out = new Map<number, Array<[number, string]>>();
  let n = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const list = out.get(partition) ?? [];
        list.push([Number(message.offset), message.value!.toString()]);
        out.set(partition, list);
        if (++n === expected) resolve();
      },
    });
  });
  await consumer.disconnect();
  return new Map(
    [...out].map(([p, list]) => [p, list.sort((a, b) => a[0] - b[0]).map(([, v]) => v)] as const),
  );
}

const msg = (partition: number, value: string) => ({ partition, key: 'k', value: Buffer.from(value) });

/** An outbox to `topic` and what its acknowledged flushes carried. */
function outboxTo(topic: string) {
  const counters = { flushes: 0, messages: 0 };
  const outbox = new FrameOutbox(producer, topic, CompressionTypes.None, (n) => {
    counters.flushes++;
    counters.messages += n;
  });
  return { outbox, counters };
}

describe('FrameOutbox', () => {
  it('sends what callers queue in the same turn in one produce request, each partition in caller order', async () => {
    const { outbox, counters } = outboxTo('outbox-a');
    const callers = Array.from({ length: 8 }, (_, c) =>
      outbox.send([0, 1, 2, 3].map((p) => msg(p, `c${c}p${p}`))),
    );
    const ends = await Promise.all(callers);
    expect(counters).toEqual({ flushes: 1, messages: 32 });
    // One flush: every caller learns the partitions' ends after it (8 messages each, from 0).
    for (const e of ends)
      expect([...e].sort((a, b) => a[0] - b[0])).toEqual([
        [0, 8],
        [1, 8],
        [2, 8],
        [3, 8],
      ]);
    const read = await readAll('outbox-a', 32);
    for (const p of [0, 1, 2, 3])
      expect(read.get(p)).toEqual(Array.from({ length: 8 }, (_, c) => `c${c}p${p}`));
  }, 60_000);

  it('queues what arrives during a flush for the next one, and the ends count on', async () => {
    const { outbox, counters } = outboxTo('outbox-b');
    const first = outbox.send([msg(0, 'a0'), msg(1, 'a1')]);
    // Once the first flush is on the wire, two more callers share the second.
    await new Promise((r) => setImmediate(r));
    const second = outbox.send([msg(0, 'b0')]);
    const third = outbox.send([msg(0, 'c0'), msg(1, 'c1')]);
    const [e1, e2, e3] = await Promise.all([first, second, third]);
    expect(counters).toEqual({ flushes: 2, messages: 5 });
    expect(e1.get(0)).toBe(1);
    expect(e1.get(1)).toBe(1);
    expect(e2.get(0)).toBe(3);
    expect(e3.get(0)).toBe(3);
    expect(e3.get(1)).toBe(2);
    const read = await readAll('outbox-b', 5);
    expect(read.get(0)).toEqual(['a0', 'b0', 'c0']);
    expect(read.get(1)).toEqual(['a1', 'c1']);
  }, 60_000);

  it('fails every caller of a failed flush, and sends again afterwards', async () => {
    const { outbox, counters } = outboxTo('outbox-c');
    // The broker refuses the next produce request: MESSAGE_TOO_LARGE (10), final for kafkajs.
    expect(await broker.apply('err 0 10 1')).toBe('Success');
    const a = outbox.send([msg(0, 'lost-a')]);
    const b = outbox.send([msg(0, 'lost-b')]);
    await expect(a).rejects.toThrow();
    await expect(b).rejects.toThrow();
    expect(counters.flushes).toBe(0);
    const ends = await outbox.send([msg(0, 'kept')]);
    expect(ends.get(0)).toBe(1);
    expect((await readAll('outbox-c', 1)).get(0)).toEqual(['kept']);
  }, 60_000);
});
