/**
 * The table of prompt embedders (`run --embedder NAME`): names, model versions, dimensions,
 * projection files and the feature version of the groups that depend on them. Data only, so the
 * models can read it without importing the loader that imports them.
 */
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
