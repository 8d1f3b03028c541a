import { describe, expect, it } from 'vitest';
import { DecodePlaces } from './decode-places.js';

describe('DecodePlaces', () => {
  it('gives each worker one place in turn, then hands a freed place to the oldest waiting decode', async () => {
    const places = new DecodePlaces(2);
    expect(await places.take()).toBe(0);
    expect(await places.take()).toBe(1);
    const got: number[] = [];
    const third = places.take().then((s) => got.push(s));
    const fourth = places.take().then((s) => got.push(s));
    await Promise.resolve();
    expect(got).toEqual([]);
    // Worker 1 is done first (worker 0 still decoding): both waiting decodes go there in turn.
    places.give(1);
    await third;
    expect(got).toEqual([1]);
    places.give(1);
    await fourth;
    expect(got).toEqual([1, 1]);
    places.give(1);
    places.give(0);
    // Both free again: taken in turn from the slot after the last one given.
    expect(await places.take()).toBe(0);
    expect(await places.take()).toBe(1);
  });

  it('skips a worker whose shards are more than the margin behind the least loaded one, until its load drops', async () => {
    const load = [0, 5000];
    const places = new DecodePlaces(2, (s) => load[s]!, 2048);
    expect(await places.take()).toBe(0);
    // Worker 1's place is free but its shards are 5,000 records in: the decode waits for worker 0.
    let got = -1;
    const next = places.take().then((s) => {
      got = s;
    });
    await Promise.resolve();
    expect(got).toBe(-1);
    load[1] = 1000; // its shards answered
    places.recheck();
    await next;
    expect(got).toBe(1);
    // Within the margin of the least loaded worker, a worker takes a decode.
    places.give(0);
    places.give(1);
    load[0] = 3000;
    load[1] = 1000;
    expect(await places.take()).toBe(0);
  });

  it('fails the waiting decodes and later ones once closed', async () => {
    const places = new DecodePlaces(1);
    await places.take();
    const waiting = places.take();
    places.close(new Error('destroyed'));
    await expect(waiting).rejects.toThrow('destroyed');
    await expect(places.take()).rejects.toThrow('destroyed');
  });
});
