import { describe, expect, it } from 'vitest';
import { decodeShardMeta, decodeSourceMeta, encodeShardMeta, encodeSourceMeta } from './offset-metadata.js';

describe('offset metadata codec', () => {
  it('round-trips source and shard metadata, ±∞ clocks included', () => {
    for (const clock of [1_736_900_000_000, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY])
      for (const eof of [true, false])
        expect(decodeSourceMeta(encodeSourceMeta({ clock, eof }))).toEqual({ clock, eof });
    expect(decodeShardMeta(encodeShardMeta({ done: true, checkpoint: 7 }))).toEqual({
      done: true,
      checkpoint: 7,
    });
  });

  it('reads the wire form earlier releases wrote', () => {
    expect(decodeSourceMeta('{"b":"-inf","eof":false}')).toEqual({
      clock: Number.NEGATIVE_INFINITY,
      eof: false,
    });
    expect(decodeShardMeta('{"done":false,"checkpoint":3}')).toEqual({ done: false, checkpoint: 3 });
  });

  it('gives null for no metadata or someone else’s', () => {
    for (const t of [null, undefined, '', 'garbage', '[]', '{"x":1}', '{"b":"soon"}']) {
      expect(decodeSourceMeta(t)).toBeNull();
      expect(decodeShardMeta(t)).toBeNull();
    }
  });
});
