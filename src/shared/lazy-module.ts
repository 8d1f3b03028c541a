import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A value made on first use and kept: `lazy(() => build())()` builds once. */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}

/**
 * A package loaded on first use, synchronously: CommonJS packages through `require`, ES-module
 * packages through Node's `require(esm)` (unflagged since Node 20.19, this project's minimum).
 * Keeps a package off the start-up path of commands that never call into it (issue 10), while
 * hot-path callers stay synchronous.
 *
 * @example
 * const yaml = lazyModule<typeof import('yaml')>('yaml');
 * yaml().parse(text); // loads `yaml` the first time
 */
export function lazyModule<T>(specifier: string): () => T {
  return lazy(() => require(specifier) as T);
}
