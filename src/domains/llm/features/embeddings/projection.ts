/**
 * DRV_001's reduction of a prompt embedding to 8 values: a PCA fitted on the prompt corpus
 * committed beside this file (`corpus.txt`), one per model, stored as that model's
 * `projectionFile` (`projection-static-v1.json`, `projection-v1.json` for USE-lite), versioned with
 * the model it was fitted for.
 *
 * Each output value is the PCA coordinate divided by three standard deviations of the corpus
 * along that axis, clamped to [−1, 1]: `clamp(((v − mean) · componentₖ) · scaleₖ, −1, 1)` with
 * `scaleₖ = 1 / (3 √explainedVarianceₖ)`. About 99 % of corpus prompts fall inside without
 * clamping; distances between prompts keep their order along each axis.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { lazy, lazyModule } from '../../../../shared/lazy-module.js';
import { ConfigError, ExternalError, InternalError } from '../../../../shared/errors.js';
import { Embedder } from './embedder.js';
import { DEFAULT_EMBEDDER, EMBEDDERS, type EmbedderName } from './models.js';
import { embeddingsAssetPath } from './paths.js';
import { fitPca } from './pca.js';

export { embeddingsAssetPath } from './paths.js';

/** The projection format version written by {@link fitProjection}. */
export const PROJECTION_VERSION = 1;
/** Output dimensions (DRV_001 has 8 values). */
export const PROJECTION_DIMS = 8;

/** The zod schema of a projection file, built on first use (zod loads in ~0.1 s; issue 10: start-up). */
function buildProjectionSchema(zr: typeof z) {
  const anyVector = zr.array(zr.number().finite()).min(1);
  return zr.object({
    version: zr.literal(PROJECTION_VERSION),
    model: zr.string().min(1),
    dims: zr.literal(PROJECTION_DIMS),
    mean: anyVector,
    components: zr.array(anyVector).length(PROJECTION_DIMS),
    corpusSha256: zr.string().regex(/^[0-9a-f]{64}$/),
    corpusSize: zr.number().int().min(2),
    explainedVariance: zr.array(zr.number().finite().positive()).length(PROJECTION_DIMS),
    explainedVarianceRatio: zr.array(zr.number().finite().min(0).max(1)).length(PROJECTION_DIMS),
    scale: zr.array(zr.number().finite().positive()).length(PROJECTION_DIMS),
  });
}
const projectionSchema = lazy(() => buildProjectionSchema(lazyModule<typeof import('zod')>('zod')().z));

/** The stored projection (`projection-v1.json`). */
export type ProjectionData = z.infer<ReturnType<typeof buildProjectionSchema>>;

/**
 * A loaded projection. Immutable; `project` is pure.
 *
 * @example
 * const p = loadProjection();
 * const [v] = await embedder.embed(['Summarize this contract']);
 * p.project(v); // 8 numbers in [-1, 1]
 */
export class Projection {
  readonly data: ProjectionData;
  readonly #mean: Float64Array;
  readonly #components: Float64Array[];

  private constructor(data: ProjectionData) {
    this.data = data;
    this.#mean = Float64Array.from(data.mean);
    this.#components = data.components.map((c) => Float64Array.from(c));
  }

  /**
   * Validates a parsed projection file for the model `model` (default: the default embedder).
   *
   * @throws ConfigError naming the first bad field, or when the projection was fitted for
   *   another model.
   */
  static fromJson(value: unknown, source = 'projection', model: EmbedderName = DEFAULT_EMBEDDER): Projection {
    const parsed = projectionSchema().safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.');
      throw new ConfigError(`${source}: \`${field}\` ${issue.message}`, { field });
    }
    const { version, dims } = EMBEDDERS[model];
    if (parsed.data.model !== version) {
      throw new ConfigError(
        `${source} was fitted for embedding model ${parsed.data.model}, but the embedder is ${version}; refit it`,
        { field: 'model' },
      );
    }
    const bad = [parsed.data.mean, ...parsed.data.components].findIndex((v) => v.length !== dims);
    if (bad !== -1) {
      const field = bad === 0 ? 'mean' : `components.${bad - 1}`;
      throw new ConfigError(`${source}: \`${field}\` must have ${dims} values (model ${version})`, { field });
    }
    return new Projection(parsed.data);
  }

  get version(): number {
    return this.data.version;
  }

  /** The 8 PCA coordinates of an embedding, unscaled and unclamped. */
  projectRaw(v: ArrayLike<number>): number[] {
    const dims = this.#mean.length;
    if (v.length !== dims) {
      throw new InternalError(`projection expects a ${dims}-d embedding, got ${v.length} values`);
    }
    return this.#components.map((c) => {
      let s = 0;
      for (let j = 0; j < dims; j++) s += c[j]! * (v[j]! - this.#mean[j]!);
      return s;
    });
  }

  /** The 8 DRV_001 values: PCA coordinates scaled by 1/(3σ) and clamped to [−1, 1]. */
  project(v: ArrayLike<number>): number[] {
    return this.projectRaw(v).map((y, k) => Math.min(1, Math.max(-1, y * this.data.scale[k]!)));
  }
}

/** Path of the committed projection of a model. */
export function defaultProjectionPath(model: EmbedderName = DEFAULT_EMBEDDER): string {
  return embeddingsAssetPath(EMBEDDERS[model].projectionFile);
}

/** Path of the committed corpus. */
export function defaultCorpusPath(): string {
  return embeddingsAssetPath('corpus.txt');
}

/**
 * Reads and validates a projection file (synchronously: it is read once at start-up).
 *
 * @throws ConfigError when the file is missing, not JSON, or invalid.
 */
export function loadProjection(
  path: string = defaultProjectionPath(),
  model: EmbedderName = DEFAULT_EMBEDDER,
): Projection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read projection ${path}`, { field: 'projection', cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`projection ${path} is not valid JSON`, { field: 'projection', cause: err });
  }
  return Projection.fromJson(json, path, model);
}

const committedProjections = new Map<EmbedderName, Projection>();

/**
 * DRV_001 with the committed projection (loaded on first call): 8 values in [−1, 1].
 *
 * @example
 * const [v] = await embedder.embed([prompt]);
 * const drv001 = project(v); // prompt_embedding_1..8
 */
export function project(v: Float32Array, model: EmbedderName = DEFAULT_EMBEDDER): number[] {
  let p = committedProjections.get(model);
  if (p === undefined) {
    p = loadProjection(defaultProjectionPath(model), model);
    committedProjections.set(model, p);
  }
  return p.project(v);
}

/** The prompts of a corpus file (one per line; blank lines and `#` comments skipped) and its SHA-256. */
export function readCorpus(path: string): { prompts: string[]; sha256: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read corpus ${path}`, { field: 'corpus', cause: err });
  }
  const prompts = bytes
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return { prompts, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Fits the projection on a corpus and writes it as JSON to `outPath` (directories created).
 * Deterministic: the same corpus and model give the same file.
 *
 * @example
 * await fitProjection('src/domains/llm/features/embeddings/corpus.txt', 'src/domains/llm/features/embeddings/projection-v1.json');
 */
export async function fitProjection(
  corpusPath: string,
  outPath: string,
  opts: { readonly embedder?: Embedder } = {},
): Promise<ProjectionData> {
  const { prompts, sha256 } = readCorpus(corpusPath);
  if (new Set(prompts).size < PROJECTION_DIMS + 2) {
    throw new ConfigError(`corpus ${corpusPath} needs at least ${PROJECTION_DIMS + 2} distinct prompts`, {
      field: 'corpus',
    });
  }
  const embedder = opts.embedder ?? (await Embedder.open({ cacheDir: null }));
  const model = embedder.info;
  let vectors: Float32Array[];
  try {
    vectors = await embedder.embed(prompts);
  } finally {
    if (opts.embedder === undefined) await embedder.close();
  }
  const pca = fitPca(vectors, PROJECTION_DIMS);
  const data: ProjectionData = {
    version: PROJECTION_VERSION,
    model: model.version,
    dims: PROJECTION_DIMS,
    mean: pca.mean,
    components: pca.components,
    corpusSha256: sha256,
    corpusSize: prompts.length,
    explainedVariance: pca.explainedVariance,
    explainedVarianceRatio: pca.explainedVarianceRatio,
    scale: pca.explainedVariance.map((l) => 1 / (3 * Math.sqrt(l))),
  };
  Projection.fromJson(data, outPath, model.name);
  try {
    await mkdir(dirname(outPath), { recursive: true });
    await writeFile(outPath, `${JSON.stringify(data, null, 2)}\n`);
  } catch (err) {
    throw new ExternalError(`cannot write projection ${outPath}`, { cause: err });
  }
  return data;
}
