import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InUseError } from '../shared/errors.js';
import { LOCK_FILE, lockDir, readLock } from './dir-lock.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fs-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A pid that surely runs no more: a child that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid as number;

describe('lockDir', () => {
  it('stamps pid, start time and host; release removes the lock', () => {
    const d = tmp();
    const lock = lockDir(d, 'state dir');
    const stamp = readLock(d)!;
    expect(stamp.pid).toBe(process.pid);
    expect(Date.parse(stamp.started)).toBeGreaterThan(Date.now() - 60_000);
    expect(() => lockDir(d, 'state dir')).toThrow(/already open in this process/);
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    lockDir(d, 'state dir').release();
  });

  it('refuses a directory held by a live process, naming its pid and start time', () => {
    const d = tmp();
    const started = new Date(Date.now() - 1000).toISOString();
    // The parent of this test process is alive and started before the stamp's time.
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: process.ppid, started, host: readHost() }));
    let err: unknown;
    try {
      lockDir(d, 'state dir');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InUseError);
    expect((err as Error).message).toBe(
      `state dir ${d} is in use by featurestream pid ${process.ppid} (started ${started}); one opener at a time: wait for it to finish or stop it (a lock left by a killed process is taken over)`,
    );
  });

  it('takes over a lock of a dead process, a reused pid, an old pid-only or a torn lock', () => {
    const d = tmp();
    const stale = [
      JSON.stringify({ pid: deadPid(), started: new Date().toISOString(), host: readHost() }),
      // pid alive but started long after the stamp: reused by another process
      JSON.stringify({
        pid: process.pid === 1 ? 2 : process.ppid,
        started: '2001-01-01T00:00:00.000Z',
        host: readHost(),
      }),
      String(deadPid()),
      '{"pid":12',
    ];
    for (const text of stale) {
      writeFileSync(join(d, LOCK_FILE), text);
      const lock = lockDir(d, 'state dir');
      expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
      lock.release();
    }
  });
});

function readHost(): string {
  return hostname();
}
