import type { Logger } from 'pino';
import type { FeatureSet } from '../registry/feature-set.js';
import type { RowSink } from '../runtime/sink.js';

/**
 * The external sinks of a run from its `--online` / `--offline` flags (none when both are
 * absent). Bad URLs fail here, at start, with a ConfigError naming the flag.
 *
 * @example
 * const sinks = await openSinks('redis://127.0.0.1:6379', 'embedded', 'llm-features', logger, featureSet(topology));
 */
export async function openSinks(
  online: string | undefined,
  offline: string | undefined,
  topologyName: string,
  logger: Logger,
  /** The run topology's features and groups (store TTLs, registry entries). */
  featureSet: FeatureSet,
  /** `emptyEmbeddedOffline`: an embedded offline store starts from an empty schema (the embedded default). */
  more: { readonly emptyEmbeddedOffline?: boolean } = {},
): Promise<RowSink[]> {
  if (online === undefined && offline === undefined) return [];
  // Loaded on demand: a run without stores does not load the database drivers.
  const { createStoreSinks } = await import('./sinks.js');
  return createStoreSinks({
    ...(online === undefined ? {} : { online }),
    ...(offline === undefined ? {} : { offline }),
    topologyName,
    logger,
    featureSet,
    ...(more.emptyEmbeddedOffline === true ? { emptyEmbeddedOffline: true } : {}),
  });
}
