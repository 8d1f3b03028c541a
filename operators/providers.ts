/**
 * Providers: values a map function looks up beyond its event, prepared for a whole batch in one
 * call on the worker that decodes it — e.g. the llm domain's prompt embeddings (a batched,
 * cached model). A plugin registers a provider by name (`providers` in its default export); a
 * map that needs it names it in `needs` and calls `ctx.lookup(name, key)`.
 *
 * @example
 * registerProvider('upper', {
 *   key: (e) => (typeof e.body.text === 'string' ? e.body.text : null),
 *   open: () => ({ resolve: async (keys) => ({ values: keys.map((k) => k.toUpperCase()), cacheHits: 0 }) }),
 * }, 'plugin demo');
 */
import { ConfigError } from '../src/shared/errors.js';
import type { DecodedEvent } from './schemas.js';

/** A provider opened for one run on one worker thread. */
export interface ProviderInstance {
  /** The values of `keys` (distinct, non-empty), in order; `cacheHits`: how many a cache answered. */
  resolve(
    keys: readonly string[],
  ): Promise<{ readonly values: readonly unknown[]; readonly cacheHits: number }>;
}

/** A provider as a plugin registers it. */
export interface ProviderDef {
  readonly description?: string;
  /** The key an event asks this provider for, or null when it asks for nothing. */
  key(event: DecodedEvent): string | null;
  /**
   * Opens the provider for a run on a worker thread; `options` are the run's options for this
   * provider (`RunOptions.providerOptions[name]`, e.g. a cache directory), `{}` when none.
   * Called once per run and thread; the instance may be shared across runs.
   */
  open(options: Readonly<Record<string, unknown>>): ProviderInstance | Promise<ProviderInstance>;
}

/** What one batch asked of each provider: distinct keys resolved and how many a cache answered. */
export type ProviderStats = Readonly<Record<string, { readonly keys: number; readonly cacheHits: number }>>;

/** Providers by name. */
export const PROVIDERS: ReadonlyMap<string, ProviderDef> = new Map<string, ProviderDef>();

/** Registers a provider; a name already taken is a ConfigError naming `source`. */
export function registerProvider(name: string, def: ProviderDef, source: string): void {
  if (PROVIDERS.has(name)) {
    throw new ConfigError(`${source}: provider \`${name}\` is already registered`, { field: '--plugin' });
  }
  if (typeof def?.key !== 'function' || typeof def?.open !== 'function') {
    throw new ConfigError(`${source}: provider \`${name}\` needs \`key\` and \`open\` functions`, {
      field: '--plugin',
    });
  }
  (PROVIDERS as Map<string, ProviderDef>).set(name, def);
}

/** Adds two batches' provider statistics. */
export function addProviderStats(
  into: Record<string, { keys: number; cacheHits: number }>,
  more: ProviderStats,
): void {
  for (const [name, s] of Object.entries(more)) {
    const have = into[name] ?? { keys: 0, cacheHits: 0 };
    into[name] = have;
    have.keys += s.keys;
    have.cacheHits += s.cacheHits;
  }
}
