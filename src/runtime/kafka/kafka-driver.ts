import type { Consumer } from 'kafkajs';
import type { EncodedPosition, SourceDriver } from '../source-driver.js';
import { decodeSourceMeta, encodeSourceMeta } from './offset-metadata.js';

/**
 * A source partition's position: the next offset to read (null: nothing committed), the
 * partition's clock before it (greatest event time read) and whether it reached its end.
 */
export interface KafkaPosition {
  readonly offset: number | null;
  readonly clock: number;
  readonly eof: boolean;
}

/**
 * The Kafka driver: one part per source partition this member is assigned. A position is
 * committed as the group's offset of the partition with the partition's clock and end flag in
 * the offset's metadata (`offset-metadata.ts`, unchanged on the wire). Reading a part from a
 * position seeks the consumer there; kafkajs then delivers the partition's batches to the
 * member's `eachBatch` (the group handles who reads what, and rebalances move parts).
 *
 * @example
 * const driver = new KafkaDriver(() => consumer, 'events', () => [0, 3]);
 * const at = driver.decodePosition({ offset: '42', meta: '{"b":1736900000000,"eof":false}' });
 * driver.read(3, at!);
 */
export class KafkaDriver implements SourceDriver<KafkaPosition, void> {
  constructor(
    private readonly consumer: () => Consumer,
    readonly topic: string,
    private readonly assigned: () => readonly number[],
  ) {}

  parts(): readonly number[] {
    return this.assigned();
  }

  start(): KafkaPosition {
    return { offset: null, clock: Number.NEGATIVE_INFINITY, eof: false };
  }

  read(part: number, from: KafkaPosition): void {
    if (from.offset === null) return; // the consumer starts where the group's policy says
    this.consumer().seek({ topic: this.topic, partition: part, offset: String(from.offset) });
  }

  encodePosition(p: KafkaPosition): EncodedPosition & { readonly meta: string } {
    return { offset: String(p.offset ?? 0), meta: encodeSourceMeta({ clock: p.clock, eof: p.eof }) };
  }

  /** A committed offset (−1: none) and its metadata; metadata not ours gives an unknown clock. */
  decodePosition(e: EncodedPosition | null | undefined): KafkaPosition | null {
    if (e === null || e === undefined) return null;
    const offset = Number(e.offset);
    const m = decodeSourceMeta(e.meta);
    return {
      offset: offset >= 0 ? offset : null,
      clock: m?.clock ?? Number.NEGATIVE_INFINITY,
      eof: m?.eof ?? false,
    };
  }
}
