import type { JsonValue } from '../topology/nodes.js';

/**
 * One instance of a user aggregation (a window feature `{ type: 'fn', fn, field, params }`): a
 * mergeable accumulator over the non-null values of one field. Accumulators must be plain JSON
 * data (they are checkpointed); `add` and `merge` may return a new value or the (updated) first
 * argument, but must not change `merge`'s second argument.
 */
export interface AggregationInstance<A = unknown> {
  /** The accumulator of a window with no value yet. */
  init(): A;
  /** Adds one non-null value (event time `ts`). */
  add(acc: A, value: number, ts: number): A;
  /** Combines two accumulators (panes of a sliding window, merging sessions). */
  merge(into: A, from: A): A;
  /** The feature value; null when there is none. */
  result(acc: A): number | null;
}

/** A named user aggregation, instantiated with the feature's `params`. */
export interface AggregationDef<A = unknown> {
  readonly description?: string;
  /** Throws (a message naming the parameter) when `params` are not valid. */
  validate?(params: JsonValue | undefined): void;
  create(params: JsonValue | undefined): AggregationInstance<A>;
}

/** User aggregations by name (registered by plugins; the built-in ones are `AggSpec` types). */
export const AGGREGATIONS: ReadonlyMap<string, AggregationDef> = new Map<string, AggregationDef>();
