/**
 * The pool sizes of `run`: its defaults, in one place for the command (run.ts) and the early
 * pool (early-pool.ts), which must start the pool the command will ask for; and the sizes a
 * command line asks for when they can be read off it alone (no pool module loaded here).
 */
import { availableParallelism } from 'node:os';

/** Default `--shards`. */
export const DEFAULT_SHARDS = 8;

/** Default `--workers`: the cores, at most 4. */
export function defaultWorkers(): number {
  return Math.min(4, availableParallelism());
}

/** The pool sizes a `featurestream …` command line asks for, or null when not a plain file run whose sizes the arguments alone give (see early-pool.ts). */
export function earlyPoolSizes(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { workers: number; shards: number } | null {
  if (args[0] !== 'run') return null;
  if (env.FEATURESTREAM_CONFIG !== undefined || env.FEATURESTREAM_KAFKA !== undefined) return null;
  if (Object.keys(env).some((k) => k.startsWith('FEATURESTREAM_RUN_'))) return null;
  let workers = defaultWorkers();
  let shards = DEFAULT_SHARDS;
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (['--help', '-h', '--kafka', '--config', '--'].includes(flag)) return null;
    if (flag !== '--workers' && flag !== '--shards') continue;
    const n = Number(eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : args[++i]);
    if (!Number.isSafeInteger(n) || n < 1) return null; // the command reports it
    if (flag === '--workers') workers = n;
    else shards = n;
  }
  return { workers, shards };
}
