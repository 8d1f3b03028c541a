/**
 * How the command line ends: every failure becomes one line on stderr naming what went wrong and
 * what to do, with a documented exit code, and no stack trace unless `--debug` (or
 * `FEATURESTREAM_DEBUG=1`). Also the start-up checks of a run's files (before anything opens
 * LevelDB or starts workers) and the process-level handlers that keep an error from ending inside
 * a library's own handler.
 *
 * Exit codes (one table for every command, docs/operations.md): 0 done — and `serve`, `ui` and
 * Kafka members stopped by SIGTERM/SIGINT; 1 failure (damaged or mostly-dead-letter input, a
 * refused or unreachable store or broker, disk full); 2 bad arguments or configuration; 3 in use
 * (a state dir, store dir or port held by another live process); 130 / 143 a bounded command
 * interrupted by SIGINT / SIGTERM (state stays at the last checkpoint), also while loading.
 *
 * @example
 * installProcessGuards();
 * try { await program.parseAsync(process.argv); } catch (err) { process.exitCode = reportError(err); }
 */
import { closeSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CommanderError } from 'commander';
import { ConfigError, FeaturestreamError, InUseError } from '../shared/errors.js';
import { type DirLock, LOCK_FILE, lockDir } from '../stores/dir-lock.js';

/** The exit codes of every command. */
export const EXIT = { ok: 0, failure: 1, usage: 2, inUse: 3, sigint: 130, sigterm: 143 } as const;

/** Whether stack traces are wanted: `--debug` anywhere in argv or FEATURESTREAM_DEBUG=1. */
export const debugWanted = (argv: readonly string[] = process.argv): boolean =>
  argv.includes('--debug') || process.env.FEATURESTREAM_DEBUG === '1';

/** argv without the global `--debug` flag (commander does not know it on subcommands). */
export const withoutDebug = (argv: readonly string[]): string[] => argv.filter((a) => a !== '--debug');

const ours = new Set<unknown>();
let reporting = false;

/**
 * Installs this process's own `uncaughtException` / `unhandledRejection` handlers and removes
 * foreign ones (the embedding library's emscripten runtime rethrows from its handler, which ends
 * the process with exit 7 and a stack from inside the library). Call at start and again after
 * lazily importing modules that may add handlers. A task rejected because the worker pool is
 * being torn down after a failure ("Terminating worker thread") is a consequence, not the cause:
 * it is ignored, and the cause is reported.
 */
export function installProcessGuards(): void {
  for (const l of process.listeners('uncaughtException')) {
    if (!ours.has(l)) process.removeListener('uncaughtException', l);
  }
  for (const l of process.listeners('unhandledRejection')) {
    if (!ours.has(l)) process.removeListener('unhandledRejection', l);
  }
  if (ours.size > 0) return;
  const fatal = (err: unknown) => {
    if (isTeardownNoise(err)) return;
    if (reporting) return; // already ending with a reported error
    reporting = true;
    process.exitCode = reportError(err);
    process.exit();
  };
  ours.add(fatal);
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // Libraries loaded later (the embedding runtime installs its handlers when it initialises)
  // do not get to add theirs: an error must end here, as one line.
  for (const method of ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'] as const) {
    const original = process[method].bind(process) as (
      event: string,
      l: (...a: never[]) => void,
    ) => NodeJS.Process;
    (process as unknown as Record<string, unknown>)[method] = (event: string, l: (...a: never[]) => void) => {
      if ((event === 'uncaughtException' || event === 'unhandledRejection') && !ours.has(l)) return process;
      return original(event, l);
    };
  }
}

/**
 * Tells the launcher (`bin/featurestream.js`, whose SIGINT/SIGTERM handler covers module
 * loading) that the modules are loaded: a signal no command handles now says only "interrupted".
 */
export function markLoaded(): void {
  (globalThis as { __featurestreamLoaded?: () => void }).__featurestreamLoaded?.();
}

/** Errors that only say the worker pool was shut down around a task. */
function isTeardownNoise(err: unknown): boolean {
  const m = err instanceof Error ? err.message : String(err);
  return m === 'Terminating worker thread' || m.startsWith('Unexpected message from Worker');
}

/**
 * Prints one line for `err` on stderr (with the stack under `--debug`) and returns the exit code.
 * Commander's own usage errors were printed by commander already.
 */
export function reportError(err: unknown, debug = debugWanted()): number {
  reporting = true;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  const code =
    err instanceof InUseError
      ? EXIT.inUse
      : err instanceof FeaturestreamError && err.domain === 'config'
        ? EXIT.usage
        : EXIT.failure;
  const line =
    err instanceof FeaturestreamError
      ? err.message
      : `${describeForeign(err)}${debug ? '' : ' (--debug shows the stack trace)'}`;
  process.stderr.write(`featurestream: ${line}\n`);
  if (debug && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
  return code;
}

/** One line for an error featurestream did not raise itself (a Node system error, a library's). */
export function describeForeign(err: unknown): string {
  if (!(err instanceof Error)) return `failed: ${String(err)}`;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = e.path === undefined ? '' : ` ${e.path}`;
  switch (e.code) {
    case 'ENOSPC':
      return `no space left on the device writing${where}: free space (or choose another directory) and run the same command again; a run resumes from its last checkpoint`;
    case 'EDQUOT':
      return `disk quota exceeded${where}: free space and run the same command again`;
    case 'EISDIR':
      return `${where.trim() || 'a path'} is a directory where a file was expected: give a file`;
    case 'ENOENT':
      return `no such file or directory:${where}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied:${where}: choose a path you can read and write`;
    case 'EROFS':
      return `read-only file system:${where}: choose a writable path`;
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files: raise the limit (ulimit -n) and run again';
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
      return `cannot connect to ${e.address ?? ''}${e.port === undefined ? '' : `:${e.port}`} (${e.code}): is the service running and the URL right?`;
    default:
      return `failed: ${err.message}`;
  }
}

/**
 * Checks a run's input before anything else starts: a readable regular file, and its content
 * looks like what its name says (gzip when it ends in `.gz`, text otherwise). Names the flag.
 * Returns the size in bytes.
 */
export function checkInputFile(path: string, flag = '--input'): number {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      throw new ConfigError(`${flag} ${path} is a directory: give one NDJSON file (plain or .gz)`, {
        field: flag,
      });
    }
    if (!st.isFile() && !st.isFIFO()) {
      throw new ConfigError(`${flag} ${path} is not a regular file`, { field: flag });
    }
    size = st.size;
  } catch (err) {
    if (err instanceof FeaturestreamError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `${flag}: no such file: ${path}`
        : `${flag} ${path}: cannot read it (${code ?? String(err)})`,
      { field: flag },
    );
  }
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(Math.min(8192, size));
      const n = readSync(fd, head, 0, head.length, 0);
      head = head.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${flag} ${path}: cannot read it (${code === 'EACCES' ? 'permission denied' : (code ?? String(err))})`,
      { field: flag },
    );
  }
  const gzipMagic = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (path.endsWith('.gz')) {
    if (size > 0 && !gzipMagic) {
      throw new ConfigError(`${flag} ${path} ends in .gz but is not gzip data: rename it or compress it`, {
        field: flag,
      });
    }
  } else if (gzipMagic) {
    throw new ConfigError(`${flag} ${path} is gzip-compressed: name it *.gz (or decompress it)`, {
      field: flag,
    });
  } else if (head.includes(0)) {
    throw new ConfigError(
      `${flag} ${path} looks binary (NUL bytes in its first ${head.length} bytes), not NDJSON text: give the events file`,
      { field: flag },
    );
  }
  return size;
}

/** Checks an output file flag: not a directory, and its directory exists (or can be made). */
export function checkOutputFile(path: string | undefined, flag: string): void {
  if (path === undefined) return;
  try {
    if (statSync(path).isDirectory()) {
      throw new ConfigError(`${flag} ${path} is a directory: give a file name`, { field: flag });
    }
  } catch (err) {
    if (err instanceof FeaturestreamError) throw err;
  }
  try {
    const parent = statSync(dirname(resolve(path)));
    if (!parent.isDirectory()) {
      throw new ConfigError(`${flag} ${path}: ${dirname(path)} is not a directory`, { field: flag });
    }
  } catch (err) {
    if (err instanceof FeaturestreamError) throw err;
    throw new ConfigError(`${flag} ${path}: its directory ${dirname(path)} does not exist: create it first`, {
      field: flag,
    });
  }
}

/**
 * Takes the state dir's lock (first of all: before LevelDB, workers or generated input) and,
 * with `fresh`, empties the directory but for the lock. Throws {@link InUseError} naming the
 * holder's pid and start time.
 */
export function lockStateDir(dir: string, fresh: boolean): DirLock {
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) {
      throw new ConfigError(`--state-dir ${dir} is a file, not a directory: give a directory`, {
        field: '--state-dir',
      });
    }
  } catch (err) {
    if (err instanceof FeaturestreamError) throw err;
  }
  const lock = lockDir(dir, 'state dir');
  if (fresh) {
    for (const name of readdirSync(lock.dir)) {
      if (name !== LOCK_FILE) rmSync(join(lock.dir, name), { recursive: true, force: true });
    }
  }
  return lock;
}

/**
 * Ends the process on SIGINT/SIGTERM with one line and exit 130/143, after `cleanup` (e.g.
 * releasing the state dir's lock). A run's state stays at its last checkpoint; the same command
 * resumes it. Returns a function that removes the handlers.
 */
export function exitOnSignals(
  what: string,
  cleanup: () => void,
  state = 'state stays at the last checkpoint: run the same command again to resume',
): () => void {
  const handler = (signal: NodeJS.Signals) => {
    reporting = true;
    try {
      cleanup();
    } finally {
      process.stderr.write(`featurestream: ${what} interrupted by ${signal}; ${state}\n`);
      process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
    }
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
  };
}
