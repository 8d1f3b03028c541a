/**
 * The state of the stateful derived features, as small classes whose state is plain JSON: the
 * join operator keeps them in its state tables, each class's `codec` being the table codec
 * (`toJSON()` stored, `fromJSON()` back, rejecting anything malformed). The table's format
 * version is the codec's: a later format is a migration step on that codec's chain. The
 * `version: 1` inside a snapshot is part of format 1 (0.1.0 wrote it), checked as any field is.
 *
 * - {@link DecayedCounter}: DRV_009 model_fatigue_score (one per model).
 * - {@link RunningCentroid}: DRV_004 prompt_similarity_to_avg (one, or one per key).
 * - {@link OnlineKMeans}: DRV_006 user_behavior_cluster (one model shared by all users).
 *
 * All of them are deterministic: the same inputs in the same order give the same state.
 */
import type { TableCodec } from '../../../../operators/index.js';
import { ConfigError, InternalError } from '../../../shared/errors.js';
import { cosine } from './vector.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteArray(v: unknown, length: number): v is number[] {
  return (
    Array.isArray(v) && v.length === length && v.every((x) => typeof x === 'number' && Number.isFinite(x))
  );
}

function badSnapshot(kind: string, why: string): InternalError {
  return new InternalError(`${kind}.fromJSON: malformed snapshot (${why})`);
}

function checkVector(kind: string, vec: readonly number[], dims: number): void {
  if (vec.length !== dims)
    throw new InternalError(`${kind}: expected a vector of ${dims} dims, got ${vec.length}`);
  for (let i = 0; i < dims; i++) {
    if (!Number.isFinite(vec[i]))
      throw new InternalError(`${kind}: component ${i} is not finite (${vec[i]})`);
  }
}

function checkPositiveInt(kind: string, field: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new ConfigError(`${kind} \`${field}\` must be an integer ≥ 1, got ${v}`, { field });
  }
}

/** JSON snapshot of a {@link DecayedCounter}. */
export interface DecayedCounterState {
  readonly version: 1;
  readonly halfLifeMs: number;
  readonly halfSaturation: number;
  readonly value: number;
  /** Event time the value refers to; null before the first {@link DecayedCounter.add}. */
  readonly lastTs: number | null;
}

/**
 * An exponentially decayed count in event time (DRV_009 model_fatigue_score): every use adds
 * `weight`, and the count halves every `halfLifeMs` of event time. Out-of-order uses are exact:
 * an event older than the last one adds its weight already decayed to the last event's time.
 *
 * The feature maps the count c to [0, 1) with c / (c + halfSaturation): 0 unused, 0.5 at
 * `halfSaturation` recent uses (default 10). The join reads {@link score} before {@link add}ing
 * the current request, so a model's first use reads 0.
 *
 * @example
 * const c = new DecayedCounter(60_000);
 * c.add(0); c.add(0);
 * c.count(60_000); // 2 * 0.5 = 1
 * c.score(60_000); // 1 / (1 + 10)
 */
export class DecayedCounter {
  /** The state-table codec: format 1 is the JSON of {@link toJSON}. */
  static readonly codec: TableCodec<DecayedCounter> = {
    version: 1,
    encode: (v) => JSON.stringify(v.toJSON()),
    decode: (s) => DecayedCounter.fromJSON(JSON.parse(s)),
  };

  readonly halfLifeMs: number;
  readonly halfSaturation: number;
  #value = 0;
  #lastTs: number | null = null;

  constructor(halfLifeMs: number, halfSaturation = 10) {
    if (!(halfLifeMs > 0) || !Number.isFinite(halfLifeMs)) {
      throw new ConfigError(`decayed counter \`halfLifeMs\` must be a finite number > 0, got ${halfLifeMs}`, {
        field: 'halfLifeMs',
      });
    }
    if (!(halfSaturation > 0) || !Number.isFinite(halfSaturation)) {
      throw new ConfigError(
        `decayed counter \`halfSaturation\` must be a finite number > 0, got ${halfSaturation}`,
        { field: 'halfSaturation' },
      );
    }
    this.halfLifeMs = halfLifeMs;
    this.halfSaturation = halfSaturation;
  }

  #decay(dtMs: number): number {
    return 2 ** (-dtMs / this.halfLifeMs);
  }

  /** Counts one use (or `weight` uses) at event time `ts`. */
  add(ts: number, weight = 1): void {
    if (!Number.isFinite(ts) || !Number.isFinite(weight)) {
      throw new InternalError(`DecayedCounter.add: ts and weight must be finite, got ${ts}, ${weight}`);
    }
    if (this.#lastTs === null) {
      this.#value = weight;
      this.#lastTs = ts;
    } else if (ts >= this.#lastTs) {
      this.#value = this.#value * this.#decay(ts - this.#lastTs) + weight;
      this.#lastTs = ts;
    } else {
      this.#value += weight * this.#decay(this.#lastTs - ts);
    }
  }

  /** The decayed count at `ts` (at the last event's time when `ts` is earlier: never inflated). */
  count(ts: number): number {
    if (this.#lastTs === null) return 0;
    return ts <= this.#lastTs ? this.#value : this.#value * this.#decay(ts - this.#lastTs);
  }

  /** The count mapped to [0, 1): c / (c + halfSaturation). DRV_009's value. */
  score(ts: number): number {
    const c = this.count(ts);
    return c / (c + this.halfSaturation);
  }

  /** The JSON snapshot. */
  toJSON(): DecayedCounterState {
    return {
      version: 1,
      halfLifeMs: this.halfLifeMs,
      halfSaturation: this.halfSaturation,
      value: this.#value,
      lastTs: this.#lastTs,
    };
  }

  /** Restores a snapshot (an object or its JSON text); throws an {@link InternalError} if malformed. */
  static fromJSON(json: unknown): DecayedCounter {
    const s: unknown = typeof json === 'string' ? JSON.parse(json) : json;
    if (!isObject(s) || s.version !== 1) throw badSnapshot('DecayedCounter', 'expected version 1');
    const { halfLifeMs, halfSaturation, value, lastTs } = s;
    if (typeof halfLifeMs !== 'number' || typeof halfSaturation !== 'number') {
      throw badSnapshot('DecayedCounter', 'halfLifeMs / halfSaturation');
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw badSnapshot('DecayedCounter', 'value');
    }
    if (lastTs !== null && (typeof lastTs !== 'number' || !Number.isFinite(lastTs))) {
      throw badSnapshot('DecayedCounter', 'lastTs');
    }
    const c = new DecayedCounter(halfLifeMs, halfSaturation);
    c.#value = lastTs === null ? 0 : value;
    c.#lastTs = lastTs;
    return c;
  }
}

/** JSON snapshot of a {@link RunningCentroid}. */
export interface RunningCentroidState {
  readonly version: 1;
  readonly dims: number;
  readonly count: number;
  readonly mean: readonly number[];
}

/**
 * The running mean of the vectors seen so far (DRV_004: the centroid of prompt embeddings).
 * The join reads {@link similarity} of the current prompt to the centroid of the earlier ones,
 * then {@link update}s with it; the first prompt has no centroid to compare with (null).
 *
 * @example
 * const c = new RunningCentroid(2);
 * c.update([1, 0]); c.update([0, 1]);
 * c.mean; // [0.5, 0.5]
 * c.similarity([1, 1]); // 1
 */
export class RunningCentroid {
  /** The state-table codec: format 1 is the JSON of {@link toJSON}. */
  static readonly codec: TableCodec<RunningCentroid> = {
    version: 1,
    encode: (v) => JSON.stringify(v.toJSON()),
    decode: (s) => RunningCentroid.fromJSON(JSON.parse(s)),
  };

  readonly dims: number;
  #count = 0;
  #mean: number[];

  constructor(dims: number) {
    checkPositiveInt('running centroid', 'dims', dims);
    this.dims = dims;
    this.#mean = new Array<number>(dims).fill(0);
  }

  /** Vectors seen so far. */
  get count(): number {
    return this.#count;
  }

  /** A copy of the current mean (all zeros before the first update). */
  get mean(): number[] {
    return [...this.#mean];
  }

  /** Adds a vector: mean += (v − mean) / n. */
  update(vec: readonly number[]): void {
    checkVector('RunningCentroid.update', vec, this.dims);
    this.#count++;
    for (let i = 0; i < this.dims; i++) this.#mean[i]! += (vec[i]! - this.#mean[i]!) / this.#count;
  }

  /** Cosine of `vec` and the mean; null before the first update or when either norm is 0. */
  similarity(vec: readonly number[]): number | null {
    checkVector('RunningCentroid.similarity', vec, this.dims);
    return this.#count === 0 ? null : cosine(vec, this.#mean);
  }

  /** The JSON snapshot. */
  toJSON(): RunningCentroidState {
    return { version: 1, dims: this.dims, count: this.#count, mean: [...this.#mean] };
  }

  /** Restores a snapshot (an object or its JSON text); throws an {@link InternalError} if malformed. */
  static fromJSON(json: unknown): RunningCentroid {
    const s: unknown = typeof json === 'string' ? JSON.parse(json) : json;
    if (!isObject(s) || s.version !== 1) throw badSnapshot('RunningCentroid', 'expected version 1');
    const { dims, count, mean } = s;
    if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1) {
      throw badSnapshot('RunningCentroid', 'dims');
    }
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      throw badSnapshot('RunningCentroid', 'count');
    }
    if (!isFiniteArray(mean, dims)) throw badSnapshot('RunningCentroid', 'mean');
    const c = new RunningCentroid(dims);
    c.#count = count;
    c.#mean = [...mean];
    return c;
  }
}

/** JSON snapshot of an {@link OnlineKMeans}. */
export interface OnlineKMeansState {
  readonly version: 1;
  readonly k: number;
  readonly dims: number;
  readonly centroids: readonly (readonly number[])[];
  readonly counts: readonly number[];
}

/**
 * Online k-means (MacQueen) for DRV_006 user_behavior_cluster = {@link assign}(vector) / k.
 *
 * - Initialisation, deterministic: the first k distinct vectors become the centroids, in the
 *   order seen (a vector equal to an existing centroid is assigned to it instead).
 * - Update: a vector joins the nearest centroid (squared Euclidean distance; the lowest index on
 *   a tie), whose count n grows by one and which moves by (x − c) / n — the running mean of its
 *   members.
 *
 * @example
 * const km = new OnlineKMeans(2, 1);
 * km.assign([0]); // 0
 * km.assign([10]); // 1
 * km.assign([2]); // 0 — centroid 0 moves to 1
 */
export class OnlineKMeans {
  /** The state-table codec: format 1 is the JSON of {@link toJSON}. */
  static readonly codec: TableCodec<OnlineKMeans> = {
    version: 1,
    encode: (v) => JSON.stringify(v.toJSON()),
    decode: (s) => OnlineKMeans.fromJSON(JSON.parse(s)),
  };

  readonly k: number;
  readonly dims: number;
  #centroids: number[][] = [];
  #counts: number[] = [];

  constructor(k: number, dims: number) {
    checkPositiveInt('online k-means', 'k', k);
    checkPositiveInt('online k-means', 'dims', dims);
    this.k = k;
    this.dims = dims;
  }

  /** Copies of the centroids so far (fewer than k until k distinct vectors were seen). */
  get centroids(): number[][] {
    return this.#centroids.map((c) => [...c]);
  }

  /** Members assigned to each centroid. */
  get counts(): number[] {
    return [...this.#counts];
  }

  /** The nearest centroid's index without updating anything; null before the first vector. */
  nearest(vec: readonly number[]): number | null {
    checkVector('OnlineKMeans.nearest', vec, this.dims);
    return this.#nearest(vec);
  }

  #nearest(vec: readonly number[]): number | null {
    let best: number | null = null;
    let bestD = Number.POSITIVE_INFINITY;
    for (let c = 0; c < this.#centroids.length; c++) {
      const centroid = this.#centroids[c]!;
      let d = 0;
      for (let i = 0; i < this.dims; i++) {
        const diff = vec[i]! - centroid[i]!;
        d += diff * diff;
      }
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    return best;
  }

  /** Assigns `vec` to a cluster, updates that cluster, and returns its index (0 … k − 1). */
  assign(vec: readonly number[]): number {
    checkVector('OnlineKMeans.assign', vec, this.dims);
    const near = this.#nearest(vec);
    const equal = near !== null && this.#centroids[near]!.every((x, i) => x === vec[i]);
    if (this.#centroids.length < this.k && !equal) {
      this.#centroids.push([...vec]);
      this.#counts.push(1);
      return this.#centroids.length - 1;
    }
    const c = near!;
    const n = this.#counts[c]! + 1;
    this.#counts[c] = n;
    const centroid = this.#centroids[c]!;
    for (let i = 0; i < this.dims; i++) centroid[i]! += (vec[i]! - centroid[i]!) / n;
    return c;
  }

  /** The JSON snapshot. */
  toJSON(): OnlineKMeansState {
    return {
      version: 1,
      k: this.k,
      dims: this.dims,
      centroids: this.#centroids.map((c) => [...c]),
      counts: [...this.#counts],
    };
  }

  /** Restores a snapshot (an object or its JSON text); throws an {@link InternalError} if malformed. */
  static fromJSON(json: unknown): OnlineKMeans {
    const s: unknown = typeof json === 'string' ? JSON.parse(json) : json;
    if (!isObject(s) || s.version !== 1) throw badSnapshot('OnlineKMeans', 'expected version 1');
    const { k, dims, centroids, counts } = s;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw badSnapshot('OnlineKMeans', 'k');
    if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1) {
      throw badSnapshot('OnlineKMeans', 'dims');
    }
    if (
      !Array.isArray(centroids) ||
      centroids.length > k ||
      !centroids.every((c) => isFiniteArray(c, dims))
    ) {
      throw badSnapshot('OnlineKMeans', 'centroids');
    }
    if (
      !Array.isArray(counts) ||
      counts.length !== centroids.length ||
      !counts.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 1)
    ) {
      throw badSnapshot('OnlineKMeans', 'counts');
    }
    const km = new OnlineKMeans(k, dims);
    km.#centroids = centroids.map((c: number[]) => [...c]);
    km.#counts = [...(counts as number[])];
    return km;
  }
}
