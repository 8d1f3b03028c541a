import { ConfigError } from '../src/shared/errors.js';
import type { AggSpec, FeatureSpec, JsonValue, QuantileStorage } from '../topology/nodes.js';
import { AGGREGATIONS, type AggregationInstance } from './aggregation-functions.js';
import { QuantileSketch } from './quantile-sketch.js';

/**
 * Mergeable aggregation of a window's records into feature values.
 *
 * Features are compiled into a small set of shared *slots* (count, per-field sum / non-null
 * count / min / max / value list / latest), so three quantiles of `latency_ms` keep one value
 * list and a ratio and a mean over `cost` share one sum. An accumulator is a plain array with
 * one entry per slot: it serializes to JSON as is, and two accumulators merge slot by slot —
 * which is what pane-based sliding windows and merging session windows need.
 *
 * Semantics follow SQL: NaN inputs are NULLs and are skipped by sum/min/max/mean/quantiles;
 * a sum over no non-null value is null; a division by zero is null; quantiles are nearest-rank
 * (DuckDB's `quantile_disc`).
 *
 * @example
 * const plan = compileAggregation(features, ['latency_ms', 'cost']);
 * const acc = plan.create();
 * plan.add(acc, [120, 0.01], ts);
 * plan.results(acc); // [p50, …]
 */
export type SlotKind = 'count' | 'sum' | 'n' | 'min' | 'max' | 'values' | 'latest' | 'fn';

interface Slot {
  readonly kind: SlotKind;
  /** Field index, −1 for count. */
  readonly field: number;
  /** A user aggregation's instance (kind `fn`; one slot per feature). */
  readonly fn?: AggregationInstance;
}

/** Latest slot value: [event time, arrival sequence, value]. */
type Latest = [number, number, number];
/** One accumulator: one entry per slot (a value slot past its exact limit holds a sketch). */
export type Accumulator = Array<number | number[] | Latest | null | JsonValue | QuantileSketch>;

export interface AggregationPlan {
  readonly slots: readonly Slot[];
  create(): Accumulator;
  /** Adds one record (its numeric fields, its event time and a per-key arrival sequence). */
  add(acc: Accumulator, values: ArrayLike<number>, offset: number, ts: number, seq: number): void;
  /** Merges `from` into `into`. */
  merge(into: Accumulator, from: Accumulator): void;
  /** The feature values, in feature order (null where inputs are missing). */
  results(acc: Accumulator): Array<number | null>;
  /**
   * The feature values of the merge of `parts` (a sliding window's panes): what merging them into
   * a fresh accumulator and taking its results gives, without first copying exact value lists
   * into one list.
   */
  resultsOfMerged(parts: readonly Accumulator[]): Array<number | null>;
  /** Approximate heap bytes of an accumulator (values and sketch bins at 8 bytes each). */
  bytes(acc: Accumulator): number;
}

/**
 * Adds `x` to a sum kept exactly as non-overlapping partials (Shewchuk's algorithm, as Python's
 * `math.fsum`): the sum is then independent of the order of its terms and of how panes and
 * sessions merge, so a run whose records arrive in another order (another worker count, Kafka
 * partitions interleaving differently) gives bit-identical sums.
 */
export function addPartial(partials: number[], value: number): void {
  let x = value;
  let i = 0;
  for (let j = 0; j < partials.length; j++) {
    let y = partials[j]!;
    if (Math.abs(x) < Math.abs(y)) {
      const t = x;
      x = y;
      y = t;
    }
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) partials[i++] = lo;
    x = hi;
  }
  // Usually the list keeps its length (or grows by one): truncate only when it shrank.
  if (i < partials.length) {
    partials[i] = x;
    if (i + 1 < partials.length) partials.length = i + 1;
  } else partials.push(x);
}

/** The correctly rounded value of a partials sum (null for no terms); see {@link addPartial}. */
export function sumOf(partials: readonly number[] | null): number | null {
  if (partials === null || partials.length === 0) return null;
  let n = partials.length - 1;
  let hi = partials[n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  // Round half-even across the remaining partials (as math.fsum does).
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    const yr = x - hi;
    if (y === yr) hi = x;
  }
  return hi;
}

/** Nearest-rank index (0-based) of quantile q among n sorted values, as DuckDB's quantile_disc computes it. */
export function nearestRankIndex(n: number, q: number): number {
  return Math.max(1, n - Math.floor(n - q * n)) - 1;
}

/**
 * Rearranges `a[lo..hi]` so that `a[k]` holds the value of rank k (0-based) with everything
 * before it ≤ it and everything after ≥ it (Hoare quickselect, median-of-three pivot). Linear
 * on average: a window's quantiles need a few order statistics, not a full sort.
 */
export function selectInPlace(a: Float64Array, k: number, lo = 0, hi = a.length - 1): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < a[lo]!) [a[mid], a[lo]] = [a[lo]!, a[mid]!];
    if (a[hi]! < a[lo]!) [a[hi], a[lo]] = [a[lo]!, a[hi]!];
    if (a[hi]! < a[mid]!) [a[hi], a[mid]] = [a[mid]!, a[hi]!];
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** Compiles features over the named numeric fields into an aggregation plan. */
export function compileAggregation(
  features: readonly FeatureSpec[],
  fields: readonly string[],
  storage?: QuantileStorage,
): AggregationPlan {
  const limit = storage?.exactUpTo ?? Number.POSITIVE_INFINITY;
  const alpha = storage?.relativeAccuracy ?? 0.01;
  /** The value slot `i` of `acc` as a list or a sketch (revived from its checkpoint form). */
  const valuesAt = (acc: Accumulator, i: number): number[] | QuantileSketch => {
    const v = acc[i];
    if (Array.isArray(v) || v instanceof QuantileSketch) return v as number[] | QuantileSketch;
    const s = QuantileSketch.fromJSON(v as never);
    acc[i] = s;
    return s;
  };
  /** Turns an exact list past the limit into a sketch. */
  const bound = (acc: Accumulator, i: number, list: number[]): void => {
    if (list.length <= limit) return;
    const s = new QuantileSketch(alpha);
    s.addAll(list);
    acc[i] = s;
  };
  const slots: Slot[] = [];
  const slotIndex = new Map<string, number>();
  const slot = (kind: SlotKind, fieldName: string | null, fn?: AggregationInstance): number => {
    let field = -1;
    if (fieldName !== null) {
      field = fields.indexOf(fieldName);
      if (field < 0)
        throw new ConfigError(`unknown field \`${fieldName}\` (known: ${fields.join(', ')})`, {
          field: fieldName,
        });
    }
    const k = kind === 'fn' ? `fn#${slots.length}` : `${kind}:${field}`;
    let i = slotIndex.get(k);
    if (i === undefined) {
      i = slots.length;
      slots.push(fn === undefined ? { kind, field } : { kind, field, fn });
      slotIndex.set(k, i);
    }
    return i;
  };

  const finals: Final[] = features.map((f) => compileFeature(f.agg, slot));
  // The quantiles each value slot must answer, so results() selects just those ranks.
  const quantilesOf = new Map<number, number[]>();
  for (const f of features) {
    if (f.agg.type !== 'quantile') continue;
    const i = slotIndex.get(`values:${fields.indexOf(f.agg.field)}`)!;
    quantilesOf.set(i, [...(quantilesOf.get(i) ?? []), f.agg.q]);
  }
  const frozenSlots = Object.freeze(slots.slice());

  const create = (): Accumulator => {
    return frozenSlots.map((s) => {
      switch (s.kind) {
        case 'count':
        case 'n':
          return 0;
        case 'values':
          return [];
        default:
          return null;
      }
    });
  };
  /** Merges `from` into `into`, except the value slots `skip` holds gathered values for. */
  const mergeSlots = (
    into: Accumulator,
    from: Accumulator,
    skip: ReadonlyArray<Float64Array | undefined> | null,
  ): void => {
    for (let i = 0; i < frozenSlots.length; i++) {
      if (skip !== null && skip[i] !== undefined) continue;
      const a = into[i];
      const b = from[i];
      if (b === null || b === undefined) continue;
      switch (frozenSlots[i]!.kind) {
        case 'count':
        case 'n':
          into[i] = (a as number) + (b as number);
          break;
        case 'sum':
          if (a === null) into[i] = [...(b as number[])];
          else for (const p of b as number[]) addPartial(a as number[], p);
          break;
        case 'min':
          if (a === null || (b as number) < (a as number)) into[i] = b;
          break;
        case 'max':
          if (a === null || (b as number) > (a as number)) into[i] = b;
          break;
        case 'values': {
          const x = valuesAt(into, i);
          const y = valuesAt(from, i);
          if (Array.isArray(x)) {
            if (Array.isArray(y)) {
              for (const v of y) x.push(v);
              bound(into, i, x);
            } else {
              const s = y.clone();
              s.addAll(x);
              into[i] = s;
            }
          } else if (Array.isArray(y)) x.addAll(y);
          else x.merge(y);
          break;
        }
        case 'latest': {
          const x = a as Latest | null;
          const y = b as Latest;
          if (x === null || y[0] > x[0] || (y[0] === x[0] && y[1] >= x[1])) into[i] = [y[0], y[1], y[2]];
          break;
        }
        case 'fn': {
          const fn = frozenSlots[i]!.fn!;
          into[i] = (a === null ? structuredClone(b) : fn.merge(a, b)) as JsonValue;
          break;
        }
      }
    }
  };
  /** The results of `acc`; a value slot `gathered` holds is read from there. */
  const resultsWith = (
    acc: Accumulator,
    gathered: ReadonlyArray<Float64Array | undefined> | null,
  ): Array<number | null> => {
    // Place the needed order statistics of each value list (highest rank first, each
    // selection narrowing the range of the next); quantile features read them by rank.
    const sorted: Array<Float64Array | QuantileSketch | undefined> = [];
    for (const [i, qs] of quantilesOf) {
      const pre = gathered === null ? undefined : gathered[i];
      const vs = pre ?? valuesAt(acc, i);
      if (vs instanceof QuantileSketch) {
        sorted[i] = vs;
        continue;
      }
      const arr = vs instanceof Float64Array ? vs : Float64Array.from(vs);
      const ranks = [...new Set(qs.map((q) => nearestRankIndex(arr.length, q)))].sort((x, y) => y - x);
      let hi = arr.length - 1;
      for (const k of ranks) {
        selectInPlace(arr, k, 0, hi);
        hi = k - 1;
      }
      sorted[i] = arr;
    }
    return finals.map((fin) => {
      const r = fin(acc, sorted);
      return r === null || !Number.isFinite(r) ? null : r;
    });
  };

  return Object.freeze({
    slots: frozenSlots,
    create,
    add(acc: Accumulator, values: ArrayLike<number>, offset: number, ts: number, seq: number): void {
      for (let i = 0; i < frozenSlots.length; i++) {
        const s = frozenSlots[i]!;
        if (s.kind === 'count') {
          acc[i] = (acc[i] as number) + 1;
          continue;
        }
        const v = values[offset + s.field]!;
        if (Number.isNaN(v)) continue;
        switch (s.kind) {
          case 'sum':
            if (acc[i] === null) acc[i] = [v];
            else addPartial(acc[i] as number[], v);
            break;
          case 'n':
            acc[i] = (acc[i] as number) + 1;
            break;
          case 'min':
            if (acc[i] === null || v < (acc[i] as number)) acc[i] = v;
            break;
          case 'max':
            if (acc[i] === null || v > (acc[i] as number)) acc[i] = v;
            break;
          case 'values': {
            const vs = valuesAt(acc, i);
            if (Array.isArray(vs)) {
              vs.push(v);
              if (vs.length > limit) bound(acc, i, vs);
            } else vs.add(v);
            break;
          }
          case 'latest': {
            const cur = acc[i] as Latest | null;
            if (cur === null || ts > cur[0] || (ts === cur[0] && seq >= cur[1])) acc[i] = [ts, seq, v];
            break;
          }
          case 'fn':
            acc[i] = s.fn!.add(acc[i] === null ? s.fn!.init() : acc[i], v, ts) as JsonValue;
            break;
        }
      }
    },
    merge(into: Accumulator, from: Accumulator): void {
      mergeSlots(into, from, null);
    },
    resultsOfMerged(parts: readonly Accumulator[]): Array<number | null> {
      if (parts.length === 1) return resultsWith(parts[0]!, null);
      // Exact lists within the limit go straight into the typed array the quantiles select from
      // (a merge copies them into one list and results copies that again); past the limit the
      // merge decides, as it always does (a sketch).
      const gathered: Array<Float64Array | undefined> = [];
      for (const i of quantilesOf.keys()) {
        let n = 0;
        let exact = true;
        for (const p of parts) {
          const v = valuesAt(p, i);
          if (!Array.isArray(v)) {
            exact = false;
            break;
          }
          n += v.length;
        }
        if (!exact || n > limit) continue;
        const all = new Float64Array(n);
        let at = 0;
        for (const p of parts) {
          const v = valuesAt(p, i) as number[];
          for (let j = 0; j < v.length; j++) all[at++] = v[j]!;
        }
        gathered[i] = all;
      }
      const acc = create();
      for (const p of parts) mergeSlots(acc, p, gathered);
      return resultsWith(acc, gathered);
    },
    results(acc: Accumulator): Array<number | null> {
      return resultsWith(acc, null);
    },
    bytes(acc: Accumulator): number {
      let n = 16 + 8 * acc.length;
      for (let i = 0; i < acc.length; i++) {
        const v = acc[i];
        if (frozenSlots[i]!.kind === 'values') {
          const vs = valuesAt(acc, i);
          n += Array.isArray(vs) ? 16 + 8 * vs.length : vs.bytes();
        } else if (Array.isArray(v)) n += 16 + 8 * v.length;
      }
      return n;
    },
  });
}

type Final = (
  acc: Accumulator,
  sorted: ReadonlyArray<Float64Array | QuantileSketch | undefined>,
) => number | null;

function compileFeature(
  agg: AggSpec,
  slot: (kind: SlotKind, field: string | null, fn?: AggregationInstance) => number,
): Final {
  const scale = agg.scale ?? 1;
  const scaled =
    (f: Final): Final =>
    (acc, sorted) => {
      const r = f(acc, sorted);
      return r === null ? null : scale === 1 ? r : r * scale;
    };
  switch (agg.type) {
    case 'count': {
      const c = slot('count', null);
      return scaled((acc) => acc[c] as number);
    }
    case 'sum': {
      const s = slot('sum', agg.field);
      return scaled((acc) => sumOf(acc[s] as number[] | null));
    }
    case 'mean': {
      const s = slot('sum', agg.field);
      const n = slot('n', agg.field);
      return scaled((acc) =>
        (acc[n] as number) === 0 ? null : (sumOf(acc[s] as number[] | null) as number) / (acc[n] as number),
      );
    }
    case 'min': {
      const s = slot('min', agg.field);
      return scaled((acc) => acc[s] as number | null);
    }
    case 'max': {
      const s = slot('max', agg.field);
      return scaled((acc) => acc[s] as number | null);
    }
    case 'latest': {
      const s = slot('latest', agg.field);
      return scaled((acc) => {
        const l = acc[s] as Latest | null;
        return l === null ? null : l[2];
      });
    }
    case 'ratio': {
      const num = slot('sum', agg.num);
      const den = agg.den === undefined ? slot('count', null) : slot('sum', agg.den);
      const denIsCount = agg.den === undefined;
      return scaled((acc) => {
        const a = sumOf(acc[num] as number[] | null);
        const b = denIsCount ? (acc[den] as number) : sumOf(acc[den] as number[] | null);
        if (a === null || b === null || b === 0) return null;
        return a / b;
      });
    }
    case 'fn': {
      const def = AGGREGATIONS.get(agg.fn);
      if (def === undefined) {
        throw new ConfigError(`aggregation function \`${agg.fn}\` is not registered (load its plugin)`, {
          field: 'fn',
        });
      }
      const fn = def.create(agg.params);
      const s = slot('fn', agg.field, fn);
      return scaled((acc) => (acc[s] === null ? null : fn.result(acc[s])));
    }
    case 'quantile': {
      if (!(agg.q > 0 && agg.q <= 1)) {
        throw new ConfigError(`quantile \`q\` must be in (0, 1], got ${agg.q}`, { field: 'q' });
      }
      const s = slot('values', agg.field);
      const q = agg.q;
      return scaled((_acc, sorted) => {
        const vs = sorted[s]!;
        if (vs instanceof QuantileSketch) return vs.quantile(q);
        return vs.length === 0 ? null : vs[nearestRankIndex(vs.length, q)]!;
      });
    }
  }
}
