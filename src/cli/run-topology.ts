import type { Topology } from '../../topology/nodes.js';
import type { EmbedderName } from '../domains/llm/features/embeddings/models.js';

/**
 * The topology a run processes, the same for a file run and a Kafka member: at
 * `--feature-version` when given, else with the versions that follow the run's prompt embedder
 * (the `derived` group's values depend on it, so each embedder writes its own version).
 */
export async function runTopology(
  base: Topology,
  o: { readonly featureVersion?: number | undefined; readonly embedder?: string | undefined },
): Promise<Topology> {
  if (o.featureVersion !== undefined) {
    return (await import('../../topology/versioned.js')).withFeatureVersion(base, o.featureVersion);
  }
  const { DEFAULT_EMBEDDER, withEmbedderVersion } = await import(
    '../domains/llm/features/embeddings/models.js'
  );
  return withEmbedderVersion(base, (o.embedder as EmbedderName | undefined) ?? DEFAULT_EMBEDDER);
}
