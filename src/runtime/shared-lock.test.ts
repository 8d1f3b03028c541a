import { describe, expect, it } from 'vitest';
import { SharedLock } from './shared-lock.js';

/** A step that finishes when the test says so, recording when it ran. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return {
    open: () => open(),
    fn: async () => {
      log.push(`${name}:start`);
      await opened;
      log.push(`${name}:end`);
      return name;
    },
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('SharedLock', () => {
  it('runs shared holders side by side', async () => {
    const lock = new SharedLock();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const pa = lock.shared(a.fn);
    const pb = lock.shared(b.fn);
    await turn();
    expect(log).toEqual(['a:start', 'b:start']);
    b.open();
    a.open();
    expect(await Promise.all([pa, pb])).toEqual(['a', 'b']);
  });

  it('starts an exclusive caller after every shared holder, and holds later shared callers back until it is done', async () => {
    const lock = new SharedLock();
    const log: string[] = [];
    const a = gate(log, 'a');
    const x = gate(log, 'x');
    const b = gate(log, 'b');
    const pa = lock.shared(a.fn);
    const px = lock.run(x.fn);
    const pb = lock.shared(b.fn); // arrives while x waits: x goes first
    await turn();
    expect(log).toEqual(['a:start']);
    a.open();
    await pa;
    await turn();
    expect(log).toEqual(['a:start', 'a:end', 'x:start']);
    x.open();
    await px;
    await turn();
    expect(log.at(-1)).toBe('b:start');
    b.open();
    await pb;
  });

  it('runs exclusive callers one at a time, in the order they came', async () => {
    const lock = new SharedLock();
    const log: string[] = [];
    const x = gate(log, 'x');
    const y = gate(log, 'y');
    const px = lock.run(x.fn);
    const py = lock.run(y.fn);
    await turn();
    expect(log).toEqual(['x:start']);
    x.open();
    await px;
    await turn();
    expect(log).toEqual(['x:start', 'x:end', 'y:start']);
    y.open();
    await py;
  });

  it('lets the next caller in when a holder throws', async () => {
    const lock = new SharedLock();
    await expect(lock.run(async () => Promise.reject(new Error('x failed')))).rejects.toThrow('x failed');
    await expect(lock.shared(async () => Promise.reject(new Error('a failed')))).rejects.toThrow('a failed');
    expect(await lock.run(async () => 'after')).toBe('after');
    expect(await lock.shared(async () => 'shared after')).toBe('shared after');
  });
});
