/**
 * The repartition topic's producer side: frames from the source batches running side by side go
 * out together, in one produce request per flush, so each shard partition gets one record batch
 * holding several frames instead of one record batch per frame (group commit, as the Kafka
 * producer batches what accumulates while a request is in flight). A consumer's fetch returns
 * whole record batches, and some brokers (the librdkafka mock) only one per partition per fetch,
 * so fewer, larger record batches are what lets a shard read more than one frame per fetch.
 *
 * Order: a caller's messages keep their order within each partition, and a source stage waits
 * for its frames before it sends more, so a source partition's frames reach each shard in order.
 * A failed flush fails every caller in it; each one's batch is retried, and shards drop frames
 * they already folded in (frames carry source offsets), so a partial write changes nothing.
 *
 * @example
 * const outbox = new FrameOutbox(producer, 'g-llm-features-repartition', CompressionTypes.None);
 * const ends = await outbox.send([{ partition: 3, key: '0', value: encodeFrame(frame) }]);
 * ends.get(3); // the partition's end offset after this flush (its last offset + 1)
 */
import type { CompressionTypes, Producer } from 'kafkajs';

/** One frame for one partition of the repartition topic. */
export interface OutboxMessage {
  readonly partition: number;
  readonly key: string;
  readonly value: Buffer;
}

interface Pending {
  readonly messages: readonly OutboxMessage[];
  readonly resolve: (ends: ReadonlyMap<number, number>) => void;
  readonly reject: (err: unknown) => void;
}

export class FrameOutbox {
  private queue: Pending[] = [];
  private draining = false;

  /** @param onFlush told of each acknowledged flush: how many messages it carried (metrics). */
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly compression: CompressionTypes,
    private readonly onFlush: (messages: number) => void = () => {},
  ) {}

  /**
   * Sends the messages with the next flush (acks from all in-sync replicas). Resolves, once they
   * are acknowledged, to each partition's end offset after that flush; rejects when it failed.
   */
  send(messages: readonly OutboxMessage[]): Promise<ReadonlyMap<number, number>> {
    if (messages.length === 0) return Promise.resolve(new Map());
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // Let the batches that finished decoding in this turn join the first flush.
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Flushes until the queue is empty; what queues during a flush goes with the next one. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const flush = this.queue;
      this.queue = [];
      const messages = flush.flatMap((p) => p.messages);
      try {
        const sent = await this.producer.send({
          topic: this.topic,
          acks: -1,
          compression: this.compression,
          messages: messages.map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
        });
        const count = new Map<number, number>();
        for (const m of messages) count.set(m.partition, (count.get(m.partition) ?? 0) + 1);
        const ends = new Map<number, number>();
        for (const r of sent) ends.set(r.partition, Number(r.baseOffset) + (count.get(r.partition) ?? 1));
        this.onFlush(messages.length);
        for (const p of flush) p.resolve(ends);
      } catch (err) {
        for (const p of flush) p.reject(err);
      }
    }
    this.draining = false;
  }
}
