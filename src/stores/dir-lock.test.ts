import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InUseError } from '../shared/errors.js';
import { isExitingOrGone, LOCK_FILE, lockDir, parseProcStat, readLock } from './dir-lock.js';

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

describe('lockDir and holders that are not running any more', () => {
  it('takes over the lock of a SIGKILLed holder its parent has not reaped (a real zombie)', async () => {
    const d = tmp();
    const lockFile = join(d, LOCK_FILE);
    // The parent: a shell that starts the holder in the background and then becomes `sleep`,
    // which never waits for its children — the killed holder stays a zombie while it lives.
    const holderJs =
      'const fs=require("node:fs"),os=require("node:os");' +
      `fs.writeFileSync(${JSON.stringify(lockFile)},JSON.stringify({pid:process.pid,started:new Date().toISOString(),host:os.hostname()}));` +
      'process.stdout.write("locked\\n");setInterval(()=>{},1e6);';
    const parent = spawn(
      'sh',
      ['-c', `"$0" -e '${holderJs}' & echo "holder $!"; exec sleep 600`, process.execPath],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      parent.stdout!.setEncoding('utf8');
      await new Promise<void>((res) =>
        parent.stdout!.on('data', (x: string) => {
          out += x;
          if (/holder \d+\n/.test(out) && out.includes('locked\n')) res();
        }),
      );
      const holder = Number(/holder (\d+)/.exec(out)![1]);
      expect(readLock(d)!.pid).toBe(holder);
      expect(() => lockDir(d, 'state dir')).toThrow(InUseError);
      process.kill(holder, 'SIGKILL');
      // Wait (no time limit) until the kernel shows it as a zombie: killed, not reaped.
      while (parseProcStat(readFileSync(`/proc/${holder}/stat`, 'utf8'))?.state !== 'Z') {
        await new Promise((res) => setTimeout(res, 10));
      }
      const lock = lockDir(d, 'state dir');
      expect(readLock(d)!.pid).toBe(process.pid);
      // Still a zombie: the takeover did not wait for the parent to reap it.
      expect(parseProcStat(readFileSync(`/proc/${holder}/stat`, 'utf8'))?.state).toBe('Z');
      lock.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('reads state and flags from /proc/PID/stat, names with spaces and parentheses included', () => {
    // Lines as the kernel writes them (a process in exit cannot be held there on purpose: its
    // flag is checked on text; the zombie case above is a real process).
    expect(parseProcStat('42 (node) S 1 42 42 0 -1 4194560 1 0')).toEqual({ state: 'S', flags: 4194560 });
    expect(parseProcStat('7 (a) b (c)) Z 1 7 7 0 -1 4228108 0 0')).toEqual({ state: 'Z', flags: 4228108 });
    expect(parseProcStat('garbage')).toBeNull();
    expect(isExitingOrGone({ state: 'Z', flags: 0 })).toBe(true);
    expect(isExitingOrGone({ state: 'X', flags: 0 })).toBe(true);
    expect(isExitingOrGone({ state: 'D', flags: 0x400004 })).toBe(true); // PF_EXITING
    expect(isExitingOrGone({ state: 'S', flags: 0x400100 })).toBe(false);
    expect(parseProcStat(readFileSync('/proc/self/stat', 'utf8'))?.state).toMatch(/^[RS]$/);
  });
});

function readHost(): string {
  return hostname();
}
