/**
 * The prompt embedders a run can choose (`run --embedder NAME`). Each has a model version (part
 * of every cache key), its own fitted projection to 8 dims, and the feature version of the groups
 * whose values depend on it (the `derived` group: DRV_001, DRV_004).
 */
import { ConfigError } from '../../../../shared/errors.js';
import type { EmbeddingModel } from './model.js';
import { freezeTopology, type Topology, type TopologyNode } from '../../../../../topology/nodes.js';
import { validateTopology } from '../../../../../topology/validate.js';

/** Names accepted by `--embedder`. */
export const EMBEDDER_NAMES = ['static', 'use-lite'] as const;
export type EmbedderName = (typeof EMBEDDER_NAMES)[number];

/**
 * The default: SIF-weighted static word vectors, ~100× faster than USE-lite on new prompts
 * (see `bench:embeddings`, which also measures how well the two agree).
 */
export const DEFAULT_EMBEDDER: EmbedderName = 'static';

/** What the runtime needs to know about an embedder without loading it. */
export interface EmbedderInfo {
  readonly name: EmbedderName;
  /** Model version (cache keys, projection). */
  readonly version: string;
  readonly dims: number;
  /** The committed projection fitted for this model. */
  readonly projectionFile: string;
  /**
   * Whether the persistent and memory caches are worth it: a cache lookup costs more than the
   * static model, so its vectors are always computed.
   */
  readonly cached: boolean;
  /** Version of the feature groups whose values come from this embedder. */
  readonly featureVersion: number;
}

export const EMBEDDERS: Readonly<Record<EmbedderName, EmbedderInfo>> = Object.freeze({
  static: {
    name: 'static',
    version: 'wink-sg100-sif-pc1-50k@1',
    dims: 100,
    projectionFile: 'projection-static-v1.json',
    cached: false,
    featureVersion: 2,
  },
  'use-lite': {
    name: 'use-lite',
    version: 'use-lite-512@0.2.0',
    dims: 512,
    projectionFile: 'projection-v1.json',
    cached: true,
    featureVersion: 1,
  },
});

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
