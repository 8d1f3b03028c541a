/**
 * Where a Kafka replay starts reading. The test broker of test/kafka/mockbroker answers every
 * timestamp with the end offset, so a broker that really looks offsets up by time cannot be
 * caused on this machine: these cases use a stub of the three admin calls (and say so). The
 * whole replay against the real test broker is test/kafka/replay.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { type OffsetsAdmin, partitionsOf } from './kafka-scan.js';

const stub = (
  ends: Array<{ partition: number; low: string; high: string }>,
  byTime: (t: number, partition: number) => string,
): OffsetsAdmin =>
  ({
    listTopics: async () => ['t'],
    fetchTopicOffsets: async () => ends.map((e) => ({ ...e, offset: e.high })),
    fetchTopicOffsetsByTimestamp: async (_topic: string, t?: number) =>
      ends.map((e) => ({ partition: e.partition, offset: byTime(t ?? 0, e.partition) })),
  }) as unknown as OffsetsAdmin;

describe('partitionsOf', () => {
  it('starts at the offset for the seek time, ends at the high watermark', async () => {
    const admin = stub(
      [
        { partition: 1, low: '10', high: '500' },
        { partition: 0, low: '0', high: '300' },
      ],
      (t, p) => (t === 0 ? (p === 0 ? '0' : '10') : p === 0 ? '120' : '500'),
    );
    expect(await partitionsOf(admin, 't', 1_000)).toEqual([
      { partition: 0, start: '120', end: '300', seek: 'timestamp' },
      // Nothing at or after the time: nothing to read.
      { partition: 1, start: '500', end: '500', seek: 'timestamp' },
    ]);
  });

  it('a broker that answers the end offset for time 0 reads from the first offset', async () => {
    const admin = stub([{ partition: 0, low: '5', high: '300' }], () => '300');
    expect(await partitionsOf(admin, 't', 1_000)).toEqual([
      { partition: 0, start: '5', end: '300', seek: 'log-start' },
    ]);
  });

  it('an empty partition and −1 answers read nothing', async () => {
    const admin = stub([{ partition: 0, low: '7', high: '7' }], () => '-1');
    expect(await partitionsOf(admin, 't', 1_000)).toEqual([
      { partition: 0, start: '7', end: '7', seek: 'timestamp' },
    ]);
  });

  it('names an unknown topic', async () => {
    await expect(
      partitionsOf(
        stub([], () => '0'),
        'nope',
        0,
      ),
    ).rejects.toThrow(/no topic "nope"/);
  });
});
