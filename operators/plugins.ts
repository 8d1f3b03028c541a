/**
 * User functions: a plugin is an ES module whose default export names filters, maps,
 * aggregations and keyed processors; once loaded (`--plugin ./module.js`) they are used by name
 * in a topology file like the built-in ones. The CLI loads plugins on the main thread, and every
 * piscina worker loads the same modules by path before it builds a topology's operators (the
 * paths travel in `Topology.plugins`).
 *
 * @example
 * // plugin.js
 * export default {
 *   name: 'endpoint-errors',
 *   filters: { 'api-calls': { create: () => (e) => e.type === 'api_call' } },
 *   maps: {
 *     'endpoint-extract': {
 *       fields: ['is_error'],
 *       attributes: ['endpoint'],
 *       create: () => (e) => ({ attrs: { endpoint: e.body.path }, values: { is_error: e.body.status >= 500 ? 1 : 0 } }),
 *     },
 *   },
 * };
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../src/shared/errors.js';
import { type DecodedEvent, registerSchema, type SchemaDef } from './schemas.js';
// Installs the JSON-Schema compiler, so a plugin's `jsonSchema` schemas decode.
import './json-schema.js';
import { type ProviderDef, registerProvider } from './providers.js';
import { type FeatureCatalogEntry, registerFeatureCatalog } from '../topology/feature-catalog.js';
import { registerTopology } from '../topology/registry.js';
import type { MapContext } from './functions.js';
import type { JsonValue } from '../topology/nodes.js';
import { AGGREGATIONS, type AggregationDef } from './aggregation-functions.js';
import {
  type OperatorProcessorDef,
  type PluginProcessorDef,
  PluginProcessorOperator,
} from './plugin-processor.js';
import { type FunctionKind, type MapFn, type ProcessorDef, registerFunction } from './functions.js';

export type { AggregationDef, AggregationInstance } from './aggregation-functions.js';
export type {
  OperatorProcessorDef,
  PluginProcessorDef,
  ProcessorInstance,
  ProcessorRecord,
} from './plugin-processor.js';
export type { DecodedEvent, DecodeResult, ReasonCode, SchemaDef, TimeFormat } from './schemas.js';
/** A registered schema's decoder, e.g. to test a schema plugin: `schemaDecoder('clickstream')(line)`. */
export { schemaDecoder } from './schemas.js';
export type { ProviderDef, ProviderInstance } from './providers.js';
export type { FeatureCatalogEntry, ValidationRule } from '../topology/feature-catalog.js';
export type { MapContext, MapFn } from './functions.js';

/** The event a plugin's filter or map receives: its type, event time (ms) and validated body. */
export type PluginEvent = DecodedEvent;

/** A named predicate over decoded events, instantiated with the filter node's `params`. */
export interface PluginFilterDef {
  readonly description?: string;
  /** Throws (a message naming the parameter) when `params` are not valid. */
  create(params: JsonValue | undefined): (event: PluginEvent) => boolean;
}

/** What a plugin map returns for one event (or null: no record). */
export interface PluginRecord {
  /** Event time, ms; default the event's. */
  readonly ts?: number;
  /** String attributes, at least those the map declares (candidate keys). */
  readonly attrs: Readonly<Record<string, string>>;
  /** Numeric fields by name (missing, null or NaN = SQL NULL), or all of them in declared order. */
  readonly values: Readonly<Record<string, number | boolean | null | undefined>> | readonly number[];
}

/** A named extractor: the numeric fields and string attributes it produces, and its factory. */
export interface PluginMapDef {
  readonly description?: string;
  readonly fields: readonly string[];
  readonly attributes: readonly string[];
  /** Providers (`providers`) whose values the function reads with `ctx.lookup(name, key)`. */
  readonly needs?: readonly string[];
  /**
   * `record` (default): the function returns a {@link PluginRecord}. `columns`: it returns the
   * engine's record as is — `ts`, every declared attribute, and `values` as numbers in declared
   * order (NaN for null) — which skips the conversion on the hot path.
   */
  readonly output?: 'record' | 'columns';
  create(params: JsonValue | undefined): (event: PluginEvent, ctx: MapContext) => PluginRecord | null;
}

/** A plugin module's default export. */
export interface Plugin {
  /** For messages. */
  readonly name: string;
  readonly filters?: Readonly<Record<string, PluginFilterDef>>;
  readonly maps?: Readonly<Record<string, PluginMapDef>>;
  readonly aggregations?: Readonly<Record<string, AggregationDef>>;
  readonly processors?: Readonly<Record<string, PluginProcessorDef>>;
  /** Keyed processors written against the operator lifecycle (see {@link OperatorProcessorDef}). */
  readonly operators?: Readonly<Record<string, OperatorProcessorDef>>;
  /** Event schemas by name, for a topology's `decode: { schema }` (see `schemas.ts`). */
  readonly schemas?: Readonly<Record<string, SchemaDef>>;
  /** Batch providers by name, for maps that declare them in `needs` (see `providers.ts`). */
  readonly providers?: Readonly<Record<string, ProviderDef>>;
  /** Feature catalog entries: descriptions and validation rules of features topologies name by id. */
  readonly catalog?: readonly FeatureCatalogEntry[];
  /** Topology files by name, for `--topology NAME` (a path, or a `file:` URL). */
  readonly topologies?: Readonly<Record<string, string | URL>>;
  /**
   * Extensions of the feature platform by kind, which the engine keeps but does not read: e.g.
   * `serve`, routes the serving API adds (see `src/serve/extensions.ts`). Read them with
   * {@link pluginExtensions}.
   */
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/** Identity, for type checking a plugin written in TypeScript. */
export function definePlugin(plugin: Plugin): Plugin {
  return plugin;
}

const loaded = new Map<string, Promise<void>>();
/** Plugin objects already registered in this thread (registering one again does nothing). */
const registered = new WeakSet<Plugin>();
const registeredList: Plugin[] = [];

/**
 * The extensions of one kind that registered plugins carry, in registration order, with the
 * plugin's name.
 *
 * @example
 * for (const { plugin, extension } of pluginExtensions('serve')) …
 */
export function pluginExtensions(
  kind: string,
): readonly { readonly plugin: string; readonly extension: unknown }[] {
  return registeredList.flatMap((p) =>
    p.extensions?.[kind] === undefined ? [] : [{ plugin: p.name, extension: p.extensions[kind] }],
  );
}

/** The absolute path of a `--plugin` value (relative paths from `base`, default the working directory). */
export function resolvePluginPath(path: string, base = process.cwd()): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

/**
 * Imports plugin modules (absolute paths) and registers their functions; a module already
 * loaded in this thread is not loaded again.
 *
 * @throws ConfigError naming `--plugin` when a module cannot be imported, has no plugin as its
 *   default export, or registers a name that is taken.
 */
export async function loadPlugins(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    let done = loaded.get(path);
    if (done === undefined) {
      done = loadOne(path);
      loaded.set(path, done);
    }
    await done;
  }
}

async function loadOne(path: string): Promise<void> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (e) {
    throw new ConfigError(`--plugin ${path}: cannot load: ${(e as Error).message}`, {
      field: '--plugin',
      cause: e,
    });
  }
  const p = mod.default as Plugin | undefined;
  if (p === null || typeof p !== 'object' || typeof p.name !== 'string') {
    throw new ConfigError(
      `--plugin ${path}: the module's default export must be a plugin object with a \`name\` (see docs/topology-files.md)`,
      { field: '--plugin' },
    );
  }
  registerPlugin(p, `--plugin ${path} (${p.name})`);
}

/** Registers a plugin object's functions (what {@link loadPlugins} does for each module). */
export function registerPlugin(p: Plugin, source = `plugin ${p.name}`): void {
  if (registered.has(p)) return;
  registered.add(p);
  registeredList.push(p);
  for (const [name, def] of Object.entries(p.schemas ?? {})) registerSchema(name, def, source);
  for (const [name, def] of Object.entries(p.providers ?? {})) registerProvider(name, def, source);
  if (p.catalog !== undefined) registerFeatureCatalog(p.catalog, source);
  for (const [name, file] of Object.entries(p.topologies ?? {})) registerTopology(name, file, source);
  const each = <T>(kind: FunctionKind | 'aggregation', defs: Readonly<Record<string, T>> | undefined) =>
    Object.entries(defs ?? {}).map(([name, def]) => {
      if (
        def === null ||
        typeof def !== 'object' ||
        typeof (def as { create?: unknown }).create !== 'function'
      ) {
        throw new ConfigError(`${source}: ${kind} \`${name}\` needs a \`create\` function`, {
          field: '--plugin',
        });
      }
      return [name, def] as const;
    });
  for (const [name, def] of each('filter', p.filters)) {
    registerFunction(
      'filter',
      name,
      {
        description: def.description ?? `${p.name}: ${name}`,
        create: (params: JsonValue | undefined) => def.create(params),
      },
      source,
    );
  }
  for (const [name, def] of each('map', p.maps)) {
    registerFunction(
      'map',
      name,
      {
        description: def.description ?? `${p.name}: ${name}`,
        fields: [...def.fields],
        attributes: [...def.attributes],
        ...(def.needs === undefined ? {} : { needs: [...def.needs] }),
        create: (params: JsonValue | undefined) =>
          def.output === 'columns'
            ? (def.create(params) as unknown as MapFn)
            : adaptMap(def, def.create(params)),
      },
      source,
    );
  }
  /** A keyed processor of either form in the function table. */
  const processor = (
    name: string,
    def: PluginProcessorDef | OperatorProcessorDef,
    create: ProcessorDef['create'],
  ): void =>
    registerFunction(
      'processor',
      name,
      {
        description: def.description ?? `${p.name}: ${name}`,
        requiresFields: [...(def.requiresFields ?? [])],
        requiresAttributes: [...(def.requiresAttributes ?? [])],
        validate: (params) => def.validate?.(params),
        create,
      },
      source,
    );
  for (const [name, def] of each('processor', p.processors)) {
    processor(name, def, (node, fields, attrs) => new PluginProcessorOperator(node, fields, attrs, def));
  }
  for (const [name, def] of Object.entries(p.operators ?? {})) {
    if (def === null || typeof def !== 'object' || typeof def.operator !== 'function') {
      throw new ConfigError(`${source}: operator \`${name}\` needs an \`operator\` function`, {
        field: '--plugin',
      });
    }
    processor(name, def, (node, fields, attrs) => def.operator(node, fields, attrs));
  }
  for (const [name, def] of each('aggregation', p.aggregations)) {
    if (AGGREGATIONS.has(name)) {
      throw new ConfigError(`${source}: aggregation \`${name}\` is already registered`, {
        field: '--plugin',
      });
    }
    (AGGREGATIONS as Map<string, AggregationDef>).set(name, def);
  }
}

const toNumber = (v: number | boolean | null | undefined): number =>
  typeof v === 'number' ? v : v === true ? 1 : v === false ? 0 : Number.NaN;

/** A plugin map as the engine's {@link MapFn}: values by name into the declared order. */
function adaptMap(def: PluginMapDef, fn: (e: PluginEvent, ctx: MapContext) => PluginRecord | null): MapFn {
  const fields = def.fields;
  return (e, ctx) => {
    const r = fn(e, ctx);
    if (r === null || r === undefined) return null;
    const values = Array.isArray(r.values)
      ? (r.values as readonly number[]).map((v) => toNumber(v))
      : fields.map((f) => toNumber((r.values as Record<string, number | boolean | null | undefined>)[f]));
    const attrs: Record<string, string> = {};
    for (const a of def.attributes) attrs[a] = String(r.attrs[a] ?? '');
    return { ts: r.ts ?? e.ts, attrs, values };
  };
}
