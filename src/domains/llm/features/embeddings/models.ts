/**
 * The prompt embedders a run can choose (`run --embedder NAME`). Each has a model version (part
 * of every cache key), its own fitted projection to 8 dims, and the feature version of the groups
 * whose values depend on it (the `derived` group: DRV_001, DRV_004).
 */
import { ConfigError } from '../../../../shared/errors.js';
import type { EmbeddingModel } from './model.js';
import { freezeTopology, type Topology, type TopologyNode } from '../../../../../topology/index.js';
import { validateTopology } from '../../../../../topology/index.js';

import {
  DEFAULT_EMBEDDER,
  EMBEDDER_NAMES,
  EMBEDDERS,
  type EmbedderInfo,
  type EmbedderName,
} from './embedder-info.js';

export { DEFAULT_EMBEDDER, EMBEDDER_NAMES, EMBEDDERS, type EmbedderInfo, type EmbedderName };

/**
 * The info of an embedder by name.
 *
 * @throws ConfigError naming `--embedder` for an unknown name.
 */
export function embedderInfo(name: string): EmbedderInfo {
  if (!(EMBEDDER_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(`--embedder must be one of ${EMBEDDER_NAMES.join(', ')}, got '${name}'`, {
      field: 'embedder',
    });
  }
  return EMBEDDERS[name as EmbedderName];
}

/** Loads a model (its code and weights are imported only here, on first use). */
export async function loadModel(name: EmbedderName): Promise<EmbeddingModel> {
  if (name === 'static') return (await import('./static-model.js')).staticModel;
  return (await import('./model.js')).loadEmbeddingModel();
}

/**
 * The topology with the version of every group computed from prompt embeddings (process nodes
 * running `derived-join`) set to the embedder's `featureVersion`, so rows of different
 * embedders never share a version.
 *
 * @example
 * withEmbedderVersion(llmFeaturesTopology(), 'use-lite'); // derived rows as version 1
 */
export function withEmbedderVersion(t: Topology, name: EmbedderName): Topology {
  const version = EMBEDDERS[name].featureVersion;
  const nodes = t.nodes.map(
    (n): TopologyNode => (n.kind === 'process' && n.fn === 'derived-join' ? { ...n, version } : n),
  );
  const out = freezeTopology({ ...t, nodes });
  validateTopology(out);
  return out;
}
