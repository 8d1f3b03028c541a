import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ExternalError, InUseError } from '../shared/errors.js';

/** Directories this process holds, so a second opener in the same process is refused too. */
const HELD = new Set<string>();
/** Release functions of the held locks, run when the process exits (also on process.exit()). */
const RELEASE = new Map<string, () => void>();
let exitHook = false;

/** The name of the lock file inside a locked directory. */
export const LOCK_FILE = 'featurestream.lock';

/** A held {@link lockDir} lock; `release()` removes the lock file. */
export interface DirLock {
  readonly dir: string;
  release(): void;
}

/** What a lock file records about its holder. */
export interface LockStamp {
  readonly pid: number;
  /** When the holder took the lock (RFC 3339). */
  readonly started: string;
  readonly host: string;
}

/**
 * Takes the exclusive, PID-stamped lock of a directory — a `run`'s state dir or an embedded
 * store's directory: a `featurestream.lock` file holding `{pid, started, host}`, created
 * exclusively. A lock left behind by a process that no longer runs (e.g. after `kill -9`, or whose
 * pid now belongs to a younger process) is taken over. A live holder — another process or this
 * one — makes it throw {@link InUseError}: "D is in use by featurestream pid N (started T)".
 * Checked first, before anything opens LevelDB or PGlite or starts workers: two engines writing
 * one directory would corrupt it (PGlite does not lock it itself).
 *
 * @param what How the message names the directory, e.g. `state dir` or `--offline: store dir`.
 * @example
 * const lock = lockDir('.featurestream/offline', '--offline: store dir');
 * try { … } finally { lock.release(); }
 */
export function lockDir(dir: string, what: string): DirLock {
  const abs = resolve(dir);
  if (HELD.has(abs)) {
    throw new InUseError(`${what} ${abs} is already open in this process (one opener at a time)`);
  }
  try {
    mkdirSync(abs, { recursive: true });
  } catch (err) {
    throw lockError(abs, what, err);
  }
  const file = join(abs, LOCK_FILE);
  const stamp: LockStamp = { pid: process.pid, started: new Date().toISOString(), host: hostname() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, `${JSON.stringify(stamp)}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw lockError(abs, what, err);
      const text = readFileSafe(file);
      const holder = parseStamp(text);
      if (holder !== null && holds(holder)) {
        throw new InUseError(
          `${what} ${abs} is in use by featurestream pid ${holder.pid} (started ${holder.started}); ` +
            'one opener at a time: wait for it to finish or stop it (a lock left by a killed process is taken over)',
        );
      }
      takeOver(file, text);
    }
  }
  HELD.add(abs);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    HELD.delete(abs);
    RELEASE.delete(abs);
    // Only our own stamp: never remove a lock another process took over meanwhile.
    if (parseStamp(readFileSafe(file))?.pid === process.pid) rmSync(file, { force: true });
  };
  RELEASE.set(abs, release);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const r of [...RELEASE.values()]) r();
    });
  }
  return { dir: abs, release };
}

/** Reads the stamp of a directory's lock, or null when it has none (or an unreadable one). */
export function readLock(dir: string): LockStamp | null {
  return parseStamp(readFileSafe(join(resolve(dir), LOCK_FILE)));
}

/**
 * Moves a stale lock aside atomically (one of several contenders wins the rename), and puts it
 * back if what was moved turned out to be a fresh lock another process had just taken.
 */
function takeOver(file: string, staleText: string): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else moved or released it: try again
  }
  if (readFileSafe(aside) !== staleText) {
    try {
      renameSync(aside, file);
    } catch {
      // it will be retried against whatever is there now
    }
    return;
  }
  rmSync(aside, { force: true });
}

function parseStamp(text: string): LockStamp | null {
  if (text === '') return null;
  // Older locks hold just the pid.
  if (/^\d+$/.test(text)) return { pid: Number(text), started: 'unknown', host: hostname() };
  try {
    const s = JSON.parse(text) as Partial<LockStamp>;
    if (typeof s.pid === 'number' && Number.isInteger(s.pid) && s.pid > 0) {
      return { pid: s.pid, started: String(s.started ?? 'unknown'), host: String(s.host ?? hostname()) };
    }
  } catch {
    // a lock cut short by a crash while it was written: stale
  }
  return null;
}

/** Whether the stamped process still holds the lock. */
function holds(s: LockStamp): boolean {
  if (s.host !== hostname()) return true; // another machine (shared volume): cannot tell, assume so
  if (s.pid === process.pid) return false; // our own leftover (HELD covers live ones)
  if (!alive(s.pid)) return false;
  // A zombie (killed, not yet reaped by its parent) or a process on its way out holds nothing:
  // the kernel has closed, or is closing, its files. An exiting one gets a moment to finish.
  if (exitingOrGone(s.pid)) return false;
  // The pid may have been reused by a process started after the lock was taken.
  const started = processStart(s.pid);
  const stamped = Date.parse(s.started);
  return started === null || Number.isNaN(stamped) || started <= stamped + 2_000;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state letter and the kernel flags of a process, from /proc/PID/stat; null when unknown. */
export interface ProcState {
  /** R, S, D, Z (zombie), X (dead), T, t, I, … */
  readonly state: string;
  /** The kernel's per-task flags (field 9); PF_EXITING = 0x4 while the process exits. */
  readonly flags: number;
}

/** The kernel's flag of a task in exit (include/linux/sched.h). */
const PF_EXITING = 0x4;

/**
 * Parses the text of `/proc/PID/stat` into its state and flags (the command name in parentheses
 * may hold spaces and parentheses: fields are counted after its last `)`). Null when malformed.
 *
 * @example
 * parseProcStat('42 (node) Z 1 42 42 0 -1 4228108 0 0'); // { state: 'Z', flags: 4228108 }
 */
export function parseProcStat(text: string): ProcState | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0] ?? '';
  const flags = Number(fields[6]);
  if (!/^[A-Za-z]$/.test(state) || !Number.isInteger(flags)) return null;
  return { state, flags };
}

/** Whether a state and flags say the process no longer holds anything (zombie, dead) or is exiting. */
export function isExitingOrGone(p: ProcState): boolean {
  return p.state === 'Z' || p.state === 'X' || p.state === 'x' || (p.flags & PF_EXITING) !== 0;
}

function readProcState(pid: number): ProcState | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is a zombie, dead, or exiting (Linux; false where /proc is missing). A process
 * still exiting is given up to a second to become a zombie (its files closed) before the answer.
 */
function exitingOrGone(pid: number): boolean {
  const first = readProcState(pid);
  if (first === null) return !alive(pid);
  if (!isExitingOrGone(first)) return false;
  const until = Date.now() + 1_000;
  for (let p: ProcState | null = first; p !== null && p.state !== 'Z' && p.state !== 'X'; ) {
    if (Date.now() >= until) break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    p = readProcState(pid);
  }
  return true;
}

/** When a process started (ms since the epoch), from /proc on Linux; null elsewhere. */
function processStart(pid: number): number | null {
  try {
    // Field 22 of /proc/PID/stat: start time in clock ticks (100 a second on Linux) after boot.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const boot = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!Number.isFinite(ticks) || boot === null) return null;
    return Number(boot[1]) * 1000 + ticks * 10;
  } catch {
    return null;
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function lockError(dir: string, what: string, err: unknown): ExternalError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? ' (not writable: choose a directory you can write)'
      : code === 'ENOTDIR' || code === 'EEXIST'
        ? ' (a file is in the way: choose a directory)'
        : code === 'ENOSPC'
          ? ' (disk full: free space and run again)'
          : '';
  return new ExternalError(
    `${what} ${dir}: cannot lock it: ${err instanceof Error ? err.message : String(err)}${hint}`,
    { cause: err, retryable: false },
  );
}
