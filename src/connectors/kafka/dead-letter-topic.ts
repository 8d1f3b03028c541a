import type { IHeaders, Producer } from 'kafkajs';

/** A malformed source record on its way to the dead-letter topic. */
export interface DeadLetterMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
  readonly detail: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
}

/**
 * Produces dead letters to a topic: the original key, value and headers, plus headers
 * `fs-reason` (the reason code), `fs-detail`, `fs-source-topic`, `fs-source-partition` and
 * `fs-source-offset`. At least once: a record may be sent again after a crash; the source
 * coordinates identify it.
 *
 * @example
 * await produceDeadLetters(producer, 'feedback-events-dlq', [{ topic: 'feedback-events', partition: 3,
 *   offset: 42, reason: 'not_json', detail: 'not JSON: …', key: null, value: Buffer.from('oops') }]);
 */
export async function produceDeadLetters(
  producer: Producer,
  dlqTopic: string,
  entries: readonly DeadLetterMessage[],
): Promise<void> {
  if (entries.length === 0) return;
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: entries.map((e) => ({
      key: e.key,
      value: e.value,
      headers: {
        ...(e.headers ?? {}),
        'fs-reason': e.reason,
        'fs-detail': e.detail.slice(0, 1000),
        'fs-source-topic': e.topic,
        'fs-source-partition': String(e.partition),
        'fs-source-offset': String(e.offset),
      },
    })),
  });
}
