import { InvalidArgumentError } from 'commander';

/**
 * commander argument parsers shared by every command: each names its flag in the error, which
 * commander prints before exiting 2.
 *
 * @example
 * new Option('--workers <n>', 'worker threads').argParser(positiveInt('--workers'));
 */
export const positiveInt =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} must be a positive integer, got "${v}"`);
    return n;
  };

/** An integer ≥ 0 (see {@link positiveInt}). */
export const nonNegativeInt =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be an integer ≥ 0, got "${v}"`);
    return n;
  };
