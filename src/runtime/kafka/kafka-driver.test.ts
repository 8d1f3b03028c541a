import type { Consumer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaDriver } from './kafka-driver.js';

describe('KafkaDriver', () => {
  // The consumer is only asked to seek: a stand-in records the calls (no broker is needed to seek).
  const seeks: unknown[] = [];
  const consumer = { seek: (s: unknown) => seeks.push(s) } as unknown as Consumer;
  const driver = new KafkaDriver(
    () => consumer,
    'events',
    () => [1, 4],
  );

  it('has the assigned partitions as parts, and seeks the consumer to read one from a position', () => {
    expect(driver.parts()).toEqual([1, 4]);
    driver.read(4, { offset: 42, clock: 7, eof: false });
    driver.read(1, driver.start());
    expect(seeks).toEqual([{ topic: 'events', partition: 4, offset: '42' }]);
  });

  it('commits a position as the offset and the metadata earlier releases wrote', () => {
    const e = driver.encodePosition({ offset: 42, clock: 1_736_900_000_000, eof: true });
    expect(e).toEqual({ offset: '42', meta: '{"b":1736900000000,"eof":true}' });
    expect(driver.decodePosition(e)).toEqual({ offset: 42, clock: 1_736_900_000_000, eof: true });
    const inf = driver.encodePosition({ offset: 3, clock: Number.NEGATIVE_INFINITY, eof: false });
    expect(driver.decodePosition(inf)?.clock).toBe(Number.NEGATIVE_INFINITY);
  });

  it('reads no committed offset as none, and metadata not its own as an unknown clock', () => {
    expect(driver.decodePosition({ offset: '-1', meta: '' })).toEqual(driver.start());
    expect(driver.decodePosition({ offset: '9', meta: 'written by someone else' })).toEqual({
      offset: 9,
      clock: Number.NEGATIVE_INFINITY,
      eof: false,
    });
    expect(driver.decodePosition(undefined)).toBeNull();
  });
});
