/**
 * The topology graph as plain, immutable data. Each node kind is an interface with a
 * `readonly kind` and a same-named frozen factory `{ is, create }`. Validation, planning,
 * drawing and the runtime are all passes over these values.
 *
 * @example
 * const src = SourceNode.create({ id: 'events' });
 * const perf = FilterNode.create({ id: 'perf', inputs: ['decoded'], fn: 'event-type', params: { type: 'performance_metrics' } });
 */

/** JSON-compatible parameter values for named functions. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [k: string]: JsonValue };

/** Window definitions; all durations are integer milliseconds. Tumbling is sliding with slide = size. */
export type WindowSpec =
  | { readonly type: 'tumbling'; readonly size: number; readonly offset?: number }
  | { readonly type: 'sliding'; readonly size: number; readonly slide: number; readonly offset?: number }
  | { readonly type: 'session'; readonly gap: number; readonly maxDuration?: number };

/**
 * A mergeable aggregation over the numeric fields of the window's input records.
 * `scale` multiplies the final value (e.g. count / 300 for a per-second rate over 5 minutes).
 * Missing inputs (NaN fields) are ignored like SQL NULLs; a result with no defined input is null.
 */
export type AggSpec =
  | { readonly type: 'count'; readonly scale?: number }
  | { readonly type: 'sum'; readonly field: string; readonly scale?: number }
  | { readonly type: 'mean'; readonly field: string; readonly scale?: number }
  | { readonly type: 'min'; readonly field: string; readonly scale?: number }
  | { readonly type: 'max'; readonly field: string; readonly scale?: number }
  /** sum(num) / sum(den), or sum(num) / count when `den` is omitted; null when the denominator is 0. */
  | { readonly type: 'ratio'; readonly num: string; readonly den?: string; readonly scale?: number }
  /** The value of the record with the greatest event time (ties: the one that arrived last). */
  | { readonly type: 'latest'; readonly field: string; readonly scale?: number }
  /** Nearest-rank quantile, q in (0, 1]: the value at 1-based rank ceil(q·n) of the sorted values. */
  | { readonly type: 'quantile'; readonly field: string; readonly q: number; readonly scale?: number }
  /** A user aggregation registered by a plugin (operators/aggregation-functions.ts) over `field`. */
  | {
      readonly type: 'fn';
      readonly fn: string;
      readonly field: string;
      readonly params?: JsonValue;
      readonly scale?: number;
    };

/**
 * The validation rule of a feature's values: inclusive bounds (default unbounded) and whether
 * null is allowed (default true). A failing value is written as null and counted.
 */
export interface FeatureValidation {
  readonly min?: number;
  readonly max?: number;
  readonly nullable?: boolean;
}

/** What every feature of a window or process node may declare besides its id and name. */
export interface FeatureMeta {
  /** One line for `features list` and the registry; default: the catalog's, else the name. */
  readonly description?: string;
  /** Value rule; default: the catalog's rule for catalog ids, else none (values pass as they are). */
  readonly validation?: FeatureValidation;
}

/** One output feature of a window: its public id and name, and how it is computed. */
export interface FeatureSpec extends FeatureMeta {
  readonly id: string;
  readonly name: string;
  readonly agg: AggSpec;
}

/**
 * What a window or process node says about its feature group besides name, entity and version:
 * how long the online store keeps a value and how old a served value may be.
 */
export interface GroupOptions {
  /** Online-store TTL in seconds (refreshed on every write). Default 86 400 (24 h). */
  readonly ttlSeconds?: number;
  /**
   * Maximum acceptable age of a served value, seconds. Default: 60 for per-event groups; for
   * windows the slide (or size, or session gap) plus out-of-orderness plus lateness, rounded up
   * to whole 10 minutes.
   */
  readonly freshnessSlaSeconds?: number;
}

interface NodeBase {
  readonly id: string;
  /** Ids of upstream nodes. Sources have none. */
  readonly inputs: readonly string[];
  readonly description?: string;
}

/** The topology's entry: the events of the configured source (file, Kafka). */
export interface SourceNode extends NodeBase {
  readonly kind: 'source';
}

/** Decodes and validates raw records with a named schema; bad records go to dead letters. */
export interface DecodeNode extends NodeBase {
  readonly kind: 'decode';
  readonly schema: string;
}

/** Keeps the records for which the named predicate holds. */
export interface FilterNode extends NodeBase {
  readonly kind: 'filter';
  readonly fn: string;
  readonly params?: JsonValue;
}

/**
 * Applies a named extractor that turns an event into a record: event time, string attributes
 * (usable as keys) and the numeric `fields` it declares.
 */
export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly fn: string;
  readonly params?: JsonValue;
  /** The numeric fields the extractor produces, in order. */
  readonly fields: readonly string[];
  /** The string attributes the extractor produces (candidate keys). */
  readonly attributes: readonly string[];
}

/** Partitions the stream by a string attribute; everything downstream is keyed state on shards. */
export interface KeyByNode extends NodeBase {
  readonly kind: 'keyBy';
  readonly key: string;
}

/** Early firing: a provisional result every `intervalMs` of processing time before the window closes. */
export interface EarlyFiring {
  readonly intervalMs: number;
}

/**
 * How a window keeps the values its quantiles need: exactly while a pane, window or session
 * holds at most `exactUpTo` values, then as a mergeable DDSketch whose quantiles are within
 * `relativeAccuracy` (default 0.01) of the exact ones. Absent: always exact (every value kept,
 * memory grows with the window's record count).
 */
export interface QuantileStorage {
  readonly exactUpTo: number;
  readonly relativeAccuracy?: number;
}

/** A keyed event-time window that aggregates its input into one feature row per window and key. */
export interface WindowNode extends NodeBase, GroupOptions {
  readonly kind: 'window';
  /** The key attribute this window expects its input to be keyed by (checked against the upstream keyBy). */
  readonly key: string;
  readonly window: WindowSpec;
  /** Allowed lateness, ms. */
  readonly lateness: number;
  /** Bounded out-of-orderness of the watermark, ms. */
  readonly outOfOrderness: number;
  /** A source partition silent this long (processing time, ms) is left out of the watermark minimum. */
  readonly idleTimeoutMs?: number;
  readonly earlyFiring?: EarlyFiring;
  /** Bounded quantile memory (exact up to a size, then a sketch); default: exact. */
  readonly quantiles?: QuantileStorage;
  /** Output row group, e.g. `perf_5min`. */
  readonly group: string;
  /** Entity type of the rows, e.g. `model`. */
  readonly entityType: string;
  readonly version: number;
  readonly features: readonly FeatureSpec[];
}

/** One feature a process node emits: its public id and name, and its value names when it has several. */
export interface ProcessFeature extends FeatureMeta {
  readonly id: string;
  readonly name: string;
  /** The row value names when the feature has several values (DRV_001: prompt_embedding_1 … 8); default `[name]`. */
  readonly values?: readonly string[];
}

/**
 * A keyed per-record processor (Flink's `KeyedProcessFunction`, Kafka Streams' `Processor`):
 * a registered operator with keyed state that emits feature rows as records arrive — per-event
 * rows with keyed state (session depth), latest-value tables (model catalog, system context) and
 * stream–table joins (derived features). Its rows have no window unless the processor says so.
 */
export interface ProcessNode extends NodeBase, GroupOptions {
  readonly kind: 'process';
  /** The key attribute this processor expects its input to be keyed by. */
  readonly key: string;
  /** Registered processor name (operators/functions.ts `PROCESSORS`). */
  readonly fn: string;
  readonly params?: JsonValue;
  /** Bounded out-of-orderness of the watermark (ms) the processor uses to expire keyed state. */
  readonly outOfOrderness: number;
  readonly group: string;
  readonly entityType: string;
  readonly version: number;
  readonly features: readonly ProcessFeature[];
}

/** Collects feature rows for the configured sinks (file, online, offline, Kafka). */
export interface SinkNode extends NodeBase {
  readonly kind: 'sink';
}

export type TopologyNode =
  | SourceNode
  | DecodeNode
  | FilterNode
  | MapNode
  | KeyByNode
  | WindowNode
  | ProcessNode
  | SinkNode;
export type NodeKind = TopologyNode['kind'];

/** A whole topology: a name, a version and its nodes in any order. */
export interface Topology {
  readonly name: string;
  readonly description?: string;
  /**
   * Plugin modules whose functions the nodes use (`--plugin`; in a file, relative to the file).
   * Every worker imports them by path before it builds the topology's operators.
   */
  readonly plugins?: readonly string[];
  readonly nodes: readonly TopologyNode[];
}

type Props<N extends TopologyNode> = Omit<N, 'kind' | 'inputs'> & { readonly inputs?: readonly string[] };

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function factory<N extends TopologyNode>(kind: N['kind']) {
  return Object.freeze({
    is(node: TopologyNode): node is N {
      return node.kind === kind;
    },
    create(props: Props<N>): N {
      return deepFreeze({
        ...structuredClone(props),
        kind,
        inputs: [...(props.inputs ?? [])],
      } as unknown as N);
    },
  });
}

export const SourceNode = factory<SourceNode>('source');
export const DecodeNode = factory<DecodeNode>('decode');
export const FilterNode = factory<FilterNode>('filter');
export const MapNode = factory<MapNode>('map');
export const KeyByNode = factory<KeyByNode>('keyBy');
export const WindowNode = factory<WindowNode>('window');
export const ProcessNode = factory<ProcessNode>('process');
export const SinkNode = factory<SinkNode>('sink');

/** Freezes a topology value (and everything in it). */
export function freezeTopology(t: Topology): Topology {
  return deepFreeze(structuredClone(t));
}
