import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExternalError } from '../errors.js';

/** Directories this process holds, so a second opener in the same process is refused too. */
const HELD = new Set<string>();

/** A held {@link lockDir} lock; `release()` removes the lock file. */
export interface DirLock {
  readonly dir: string;
  release(): void;
}

/**
 * Takes the single-opener lock of an embedded store's directory: a `featurestream.lock` file
 * holding this process's pid, created exclusively. A lock left behind by a process that no longer
 * runs (e.g. after `kill -9`) is taken over. A live holder — another process or this one — makes
 * it throw {@link ExternalError} naming the directory and the pid, because two engines writing one
 * PostgreSQL data directory (PGlite does not lock it itself) would corrupt it.
 *
 * @example
 * const lock = lockDir('.featurestream/offline', '--offline');
 * try { … } finally { lock.release(); }
 */
export function lockDir(dir: string, what: string): DirLock {
  const abs = resolve(dir);
  if (HELD.has(abs)) {
    throw new ExternalError(`${what}: ${abs} is already open in this process (one opener at a time)`, {
      retryable: false,
    });
  }
  mkdirSync(abs, { recursive: true });
  const file = join(abs, 'featurestream.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw lockError(abs, what, err);
      const pid = Number(readFileSafe(file));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new ExternalError(
          `${what}: ${abs} is in use by process ${pid} (an embedded store has one opener at a time; stop it first)`,
          { retryable: true },
        );
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  HELD.add(abs);
  let released = false;
  return {
    dir: abs,
    release() {
      if (released) return;
      released = true;
      HELD.delete(abs);
      rmSync(file, { force: true });
    },
  };
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockError(dir: string, what: string, err: unknown): ExternalError {
  return new ExternalError(
    `${what}: cannot lock ${dir}: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err, retryable: false },
  );
}
