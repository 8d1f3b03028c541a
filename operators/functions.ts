/**
 * The function table: the filters, maps (extractors) and keyed processors that topology nodes
 * name in their `fn`. The engine's own are the event-type filters; every other function comes
 * from a plugin (a domain shipped with featurestream or a user's `--plugin` module) through
 * `registerFunction`. Aggregations a plugin adds live in `aggregation-functions.ts`. Not to be
 * confused with the feature registry (`src/registry/`) or Confluent's schema registry (see
 * docs/glossary.md).
 */
import { ConfigError } from '../src/shared/errors.js';
import type { DecodedEvent } from './schemas.js';
import type { JsonValue, ProcessNode } from '../topology/nodes.js';
import type { Operator } from './operator.js';

/**
 * What a map function may ask the stage for beyond the event: values a registered provider
 * prepared for the whole batch (see `providers.ts`), looked up by the provider's name and key.
 */
export interface MapContext {
  /** The provider's value for `key` (prepared for this batch), or null. */
  lookup(provider: string, key: string): unknown;
}

/** A map function: event → record, or null when the event yields no record here. */
export type MapFn = (
  e: DecodedEvent,
  ctx: MapContext,
) => { ts: number; attrs: Readonly<Record<string, string>>; values: readonly number[] } | null;

/**
 * A record after the map stage: event time, string attributes (candidate keys) and numeric
 * fields in the order the map node declares. NaN encodes a missing number (SQL NULL); `values`
 * may stop before the last field, and the fields it leaves out are NaN.
 */
export interface ExtractedRecord {
  readonly ts: number;
  readonly attrs: Readonly<Record<string, string>>;
  readonly values: readonly number[];
}

/** A named predicate over decoded events, instantiated with the node's params. */
export interface FilterDef {
  readonly description: string;
  create(params: JsonValue | undefined): (event: DecodedEvent) => boolean;
  /**
   * For a filter that is exactly a test of the event type: the types it keeps. The decode stage
   * then routes each event only to the chains that keep its type and does not call the filter.
   */
  types?(params: JsonValue | undefined): readonly string[];
}

/** A named extractor: the fields and attributes it produces, and its factory. */
export interface MapDef {
  readonly description: string;
  readonly fields: readonly string[];
  readonly attributes: readonly string[];
  /** The providers (`providers.ts`) whose values the function looks up in its context; the stage prepares them per batch. */
  readonly needs?: readonly string[];
  create(params: JsonValue | undefined): MapFn;
}

/** A named keyed processor (process node): the fields and attributes it reads, and its factory. */
export interface ProcessorDef {
  readonly description: string;
  readonly requiresFields: readonly string[];
  readonly requiresAttributes: readonly string[];
  /** Throws (with a message naming the parameter) when `params` are not valid. */
  validate(params: JsonValue | undefined): void;
  create(node: ProcessNode, fields: readonly string[], attributes: readonly string[]): Operator;
}

/** Predicates by name (built-in, then those of loaded plugins). */
export const FILTERS: ReadonlyMap<string, FilterDef> = new Map<string, FilterDef>([
  [
    'event-type',
    {
      description: 'keeps events whose `type` equals params.type',
      create(params) {
        const wanted = (params as { type?: unknown } | undefined)?.type;
        if (typeof wanted !== 'string') throw new TypeError('event-type filter needs params.type (a string)');
        return (e) => e.type === wanted;
      },
      types: (params) => [(params as { type: string }).type],
    },
  ],
  [
    'event-types',
    {
      description: 'keeps events whose `type` is one of params.types',
      create(params) {
        const wanted = (params as { types?: unknown } | undefined)?.types;
        if (!Array.isArray(wanted) || wanted.length === 0 || !wanted.every((t) => typeof t === 'string')) {
          throw new TypeError('event-types filter needs params.types (a non-empty array of strings)');
        }
        const set = new Set<string>(wanted as string[]);
        return (e) => set.has(e.type);
      },
      types: (params) => (params as { types: string[] }).types,
    },
  ],
]);

/** Extractors by name: those the loaded plugins and domains register. */
export const MAPS: ReadonlyMap<string, MapDef> = new Map<string, MapDef>();

/** Keyed processors by name: those the loaded plugins and domains register. */
export const PROCESSORS: ReadonlyMap<string, ProcessorDef> = new Map<string, ProcessorDef>();

/** Which function table a plugin function goes into. */
export type FunctionKind = 'filter' | 'map' | 'processor';

/**
 * Adds a function to its function table (see `plugins.ts`); a name already taken is a ConfigError naming
 * `source` (the plugin) and the name.
 */
export function registerFunction(
  kind: FunctionKind,
  name: string,
  def: FilterDef | MapDef | ProcessorDef,
  source: string,
): void {
  const map = (kind === 'filter' ? FILTERS : kind === 'map' ? MAPS : PROCESSORS) as Map<string, unknown>;
  if (map.has(name)) {
    throw new ConfigError(
      `${source}: ${kind} \`${name}\` is already registered (a built-in or another plugin)`,
      {
        field: '--plugin',
      },
    );
  }
  map.set(name, def);
}
