import type { DDSketch } from '@datadog/sketches-js';
import { lazyModule } from '../src/shared/lazy-module.js';

// Loaded on the first sketch: topologies with exact quantiles only, and commands that never run
// a window, skip it (issue 10: start-up).
const sketches = lazyModule<typeof import('@datadog/sketches-js')>('@datadog/sketches-js');

/**
 * A window's quantile state once it holds more values than its exact limit: a DDSketch
 * (`@datadog/sketches-js`, logarithmic mapping, dense stores) with relative error ≤ `alpha` on
 * every quantile, answered with the same nearest-rank rule as the exact path.
 *
 * Why a wrapper and not the library object as is:
 * - Its `merge` skips the negative store; {@link QuantileSketch.merge} merges all three parts.
 * - Its protobuf form drops min and max; {@link QuantileSketch.toJSON} is a stable, exact
 *   encoding (bins by key, zero count, min, max), so a checkpoint restores the same sketch.
 * - Values the mapping cannot index (±Infinity, |v| ≥ its max) are kept exactly beside it.
 *
 * The bins are integer counts, so a sketch is a function of the multiset of values it was fed:
 * panes and sessions merged in any order give identical sketches and identical quantiles.
 *
 * @example
 * const s = new QuantileSketch(0.01);
 * for (const v of latencies) s.add(v);
 * s.quantile(0.99); // within 1 % of the exact nearest-rank p99
 */
export class QuantileSketch {
  /** The library sketch holding every indexable value. */
  private readonly sk: DDSketch;
  /** Values outside the mapping's range, kept exactly (rare: ±Infinity, |v| ≥ ~1e308). */
  private outliers: number[] = [];

  constructor(readonly alpha: number) {
    this.sk = new (sketches().DDSketch)({ relativeAccuracy: alpha });
  }

  /** Number of values. */
  get count(): number {
    return this.sk.count + this.outliers.length;
  }

  add(v: number): void {
    if (Math.abs(v) < this.sk.mapping.maxPossible) this.sk.accept(v);
    else this.outliers.push(v);
  }

  /** Adds every value of `vs`. */
  addAll(vs: readonly number[]): void {
    for (const v of vs) this.add(v);
  }

  /** Merges `o` (same alpha) into this sketch. */
  merge(o: QuantileSketch): void {
    if (o.alpha !== this.alpha) {
      throw new TypeError(`cannot merge sketches of relative accuracy ${o.alpha} and ${this.alpha}`);
    }
    const a = this.sk;
    const b = o.sk;
    if (b.count > 0) {
      if (b.store.count > 0) a.store.merge(b.store);
      if (b.negativeStore.count > 0) a.negativeStore.merge(b.negativeStore);
      a.zeroCount += b.zeroCount;
      a.count += b.count;
      if (b.min < a.min) a.min = b.min;
      if (b.max > a.max) a.max = b.max;
    }
    for (const v of o.outliers) this.outliers.push(v);
  }

  /**
   * The nearest-rank q-quantile (rank ceil(q·n), as the exact path), within relative error
   * `alpha` of the exact value; null when empty.
   */
  quantile(q: number): number | null {
    const n = this.count;
    if (n === 0) return null;
    let r = Math.max(1, n - Math.floor(n - q * n)) - 1;
    const out = this.outliers.length === 0 ? this.outliers : [...this.outliers].sort((x, y) => x - y);
    let below = 0;
    while (below < out.length && out[below]! < 0) below++;
    if (r < below) return out[r]!;
    r -= below;
    const sk = this.sk;
    if (r >= sk.count) return out[below + r - sk.count]!;
    // The extremes are known exactly.
    if (r === 0) return sk.min;
    if (r === sk.count - 1) return sk.max;
    const neg = sk.negativeStore.count;
    let v: number;
    if (r < neg) v = -sk.mapping.value(sk.negativeStore.keyAtRank(neg - 1 - r));
    else if (r < neg + sk.zeroCount) v = 0;
    else v = sk.mapping.value(sk.store.keyAtRank(r - neg - sk.zeroCount));
    // The true value lies in [min, max]: clamping only brings the estimate closer (and makes
    // the extremes exact).
    return Math.min(sk.max, Math.max(sk.min, v));
  }

  /** Approximate heap bytes (bins and outliers at 8 bytes, plus fixed overhead). */
  bytes(): number {
    return 400 + 8 * (this.sk.store.bins.length + this.sk.negativeStore.bins.length + this.outliers.length);
  }

  /** A deep copy. */
  clone(): QuantileSketch {
    return QuantileSketch.fromJSON(this.toJSON());
  }

  /**
   * Stable, exact encoding (what a checkpoint stores): `p`/`n` are the positive/negative stores
   * as `[firstKey, count, count, …]`, `z` the zero count, `lo`/`hi` min and max, `x` the
   * outliers as strings (JSON has no Infinity).
   */
  toJSON(): SketchJson {
    const sk = this.sk;
    return {
      dd: 1,
      a: this.alpha,
      p: encodeStore(sk.store),
      n: encodeStore(sk.negativeStore),
      z: sk.zeroCount,
      lo: sk.count === 0 ? null : sk.min,
      hi: sk.count === 0 ? null : sk.max,
      x: this.outliers.map(String),
    };
  }

  /** Restores a sketch from {@link QuantileSketch.toJSON}'s form. */
  static fromJSON(j: SketchJson): QuantileSketch {
    const s = new QuantileSketch(j.a);
    const sk = s.sk;
    decodeStore(sk.store, j.p);
    decodeStore(sk.negativeStore, j.n);
    sk.zeroCount = j.z;
    sk.count = sk.store.count + sk.negativeStore.count + j.z;
    if (j.lo !== null) sk.min = j.lo;
    if (j.hi !== null) sk.max = j.hi;
    s.outliers = j.x.map(Number);
    return s;
  }

  /** True for a value in {@link QuantileSketch.toJSON}'s form (as a checkpoint restores it). */
  static isJson(v: unknown): v is SketchJson {
    return typeof v === 'object' && v !== null && (v as { dd?: unknown }).dd === 1;
  }
}

/** The checkpoint form of a {@link QuantileSketch}. */
export interface SketchJson {
  readonly dd: 1;
  readonly a: number;
  readonly p: readonly number[];
  readonly n: readonly number[];
  readonly z: number;
  readonly lo: number | null;
  readonly hi: number | null;
  readonly x: readonly string[];
}

type Store = DDSketch['store'];

function encodeStore(store: Store): number[] {
  if (store.count === 0) return [];
  const out: number[] = [store.minKey];
  for (let k = store.minKey; k <= store.maxKey; k++) out.push(store.bins[k - store.offset] ?? 0);
  return out;
}

function decodeStore(store: Store, enc: readonly number[]): void {
  if (enc.length === 0) return;
  const first = enc[0]!;
  for (let i = 1; i < enc.length; i++) if (enc[i]! > 0) store.add(first + i - 1, enc[i]!);
}
