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
    // Worker 1 is done first (worker 0 still busy, e.g. with its shards): both waiting decodes go there in turn.
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

  it('fails the waiting decodes and later ones once closed', async () => {
    const places = new DecodePlaces(1);
    await places.take();
    const waiting = places.take();
    places.close(new Error('destroyed'));
    await expect(waiting).rejects.toThrow('destroyed');
    await expect(places.take()).rejects.toThrow('destroyed');
  });
});
