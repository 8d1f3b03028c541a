/**
 * The features and feature groups of one topology: what the registry tables, the stores, the
 * serving layer and `features list` know. Groups (name, entity, version, TTL, window, freshness)
 * are read from the topology's window and process nodes; each feature's meaning (description,
 * formula, validation rule) from the node's feature entry, else from the registered feature
 * catalogs (`topology/feature-catalog.ts`) for catalog ids. Edit a window in a topology file and the registry says so.
 *
 * @example
 * const set = featureSet(loadTopology('llm-features'));
 * set.group('perf_5min')?.window;              // 'tumbling 5m, lateness 60s'
 * set.byIdOrName('prompt_embedding_3')?.id;    // 'DRV_001'
 * set.ttlSecondsByGroup.context;               // 30
 */
import { ConfigError } from '../shared/errors.js';
import { TOPOLOGIES } from '../../topology/registry.js';
import type {
  AggSpec,
  FeatureMeta,
  ProcessNode,
  Topology,
  WindowNode,
  WindowSpec,
} from '../../topology/nodes.js';
import {
  catalogEntries,
  catalogEntry,
  featureRules,
  ruleOf,
  type ValidationRule,
} from '../../topology/feature-catalog.js';

/** One registry entry: a feature as one topology computes it. */
export interface FeatureDef {
  /** Feature id, e.g. `REQ_001`. */
  readonly id: string;
  /** Feature name, e.g. `prompt_length`. */
  readonly name: string;
  /** The catalog's category, or `custom` for features outside the catalog. */
  readonly category: string;
  readonly entity: string;
  readonly group: string;
  readonly description: string;
  /** The formula text: the catalog's, else the window aggregation or processor that computes it. */
  readonly computation: string;
  /** Input event types, e.g. `['performance_metrics']` (empty when not known). */
  readonly source: readonly string[];
  /** The window the value is computed over, e.g. `'tumbling 5m, lateness 60s'`; null for per-event. */
  readonly window: string | null;
  readonly version: number;
  readonly validation: ValidationRule;
  /** Row value names: [name], or the process feature's `values` (DRV_001 → prompt_embedding_1 … 8). */
  readonly valueNames: readonly string[];
  /** Maximum acceptable age of a served value, in seconds. */
  readonly freshnessSlaSeconds: number;
  readonly owner: string;
  readonly tags: readonly string[];
}

/** One feature group of a topology: the unit written to the stores (one row per entity, group, version). */
export interface GroupDef {
  readonly group: string;
  readonly entity: string;
  /** Online-store TTL (refreshed on every write); an expired value is served as missing. */
  readonly ttlSeconds: number;
  /** The window, described (`sliding 1h every 5m, lateness 120s`), or null for a processor's group. */
  readonly window: string | null;
  readonly version: number;
  readonly freshnessSlaSeconds: number;
  /** The window or process node that writes the group. */
  readonly node: string;
}

/** The features and groups of one topology. Plain, frozen data plus lookups. */
export interface FeatureSet {
  /** The topology's name. */
  readonly topology: string;
  /** Catalog features in catalog order, then the topology's other features in topology order. */
  readonly features: readonly FeatureDef[];
  /** Groups in the order of their first feature. */
  readonly groups: readonly GroupDef[];
  /** TTL per group, in seconds. */
  readonly ttlSecondsByGroup: Readonly<Record<string, number>>;
  /** Validation rules by row value name: catalog rules and rules declared in the topology. */
  readonly rules: ReadonlyMap<string, ValidationRule>;
  /** The feature with this id, name or value name (`prompt_embedding_3` → DRV_001); case-sensitive. */
  byIdOrName(idOrName: string): FeatureDef | undefined;
  /** The features of a group, in {@link features} order. */
  ofGroup(group: string): readonly FeatureDef[];
  /** A group by name. */
  group(group: string): GroupDef | undefined;
}

const DAY = 86_400;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Whole hours as `h`, whole minutes from 5 min up as `m`, the rest in seconds: `5m`, `60s`, `4h`. */
export function formatDuration(ms: number): string {
  if (ms >= HOUR && ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms >= 5 * MINUTE && ms % MINUTE === 0) return `${ms / MINUTE}m`;
  return `${ms / 1000}s`;
}

/**
 * A window node's window in words, as the registry shows it.
 * @example
 * describeWindow(perf1hr); // 'sliding 1h every 5m, lateness 120s'
 */
export function describeWindow(n: Pick<WindowNode, 'window' | 'lateness'>): string {
  const w: WindowSpec = n.window;
  const late = `lateness ${formatDuration(n.lateness)}`;
  switch (w.type) {
    case 'tumbling':
      return `tumbling ${formatDuration(w.size)}, ${late}`;
    case 'sliding':
      return w.slide === w.size
        ? `tumbling ${formatDuration(w.size)}, ${late}`
        : `sliding ${formatDuration(w.size)} every ${formatDuration(w.slide)}, ${late}`;
    case 'session':
      return `session gap ${formatDuration(w.gap)}${w.maxDuration === undefined ? '' : `, max ${formatDuration(w.maxDuration)}`}, ${late}`;
  }
}

/** Default freshness SLA: 60 s per event; windows: slide (size, gap) + out-of-orderness + lateness, up to whole 10 min. */
function defaultFreshness(n: WindowNode | ProcessNode): number {
  if (n.kind === 'process') return 60;
  const w = n.window;
  const step = w.type === 'sliding' ? w.slide : w.type === 'tumbling' ? w.size : w.gap;
  const s = (step + n.outOfOrderness + n.lateness) / 1000;
  return Math.ceil(s / 600) * 600;
}

function describeAgg(a: AggSpec): string {
  const scaled = (t: string) => (a.scale === undefined ? t : `${t} × ${a.scale}`);
  switch (a.type) {
    case 'count':
      return scaled('count');
    case 'ratio':
      return scaled(a.den === undefined ? `sum(${a.num}) / count` : `sum(${a.num}) / sum(${a.den})`);
    case 'quantile':
      return scaled(`quantile ${a.q} of ${a.field}`);
    case 'fn':
      return scaled(`${a.fn}(${a.field})`);
    default:
      return scaled(`${a.type}(${a.field})`);
  }
}

const UNBOUNDED: ValidationRule = Object.freeze({
  min: Number.NEGATIVE_INFINITY,
  max: Number.POSITIVE_INFINITY,
  nullable: true,
});

/**
 * The feature set of a topology (validated already: `build()`, `parseTopology` and
 * `planTopology` do it).
 */
export function featureSet(t: Topology): FeatureSet {
  const catalog = catalogEntries();
  const catalogOrder = new Map(catalog.map((f, i) => [f.id, i]));
  const groupDefs = new Map<string, GroupDef>();
  const defs: { def: FeatureDef; order: number }[] = [];
  let custom = catalog.length;
  for (const n of t.nodes) {
    if (n.kind !== 'window' && n.kind !== 'process') continue;
    const window = n.kind === 'window' ? describeWindow(n) : null;
    const freshness = n.freshnessSlaSeconds ?? defaultFreshness(n);
    groupDefs.set(
      n.group,
      Object.freeze({
        group: n.group,
        entity: n.entityType,
        ttlSeconds: n.ttlSeconds ?? DAY,
        window,
        version: n.version,
        freshnessSlaSeconds: freshness,
        node: n.id,
      }),
    );
    const features: readonly (FeatureMeta & {
      id: string;
      name: string;
      agg?: AggSpec;
      values?: readonly string[];
    })[] = n.features;
    for (const f of features) {
      const c = catalogEntry(f.id);
      const valueNames = f.values ?? c?.valueNames ?? [f.name];
      const rule = ruleOf(f, c?.validation);
      const def: FeatureDef = Object.freeze({
        id: f.id,
        name: f.name,
        category: c?.category ?? 'custom',
        entity: n.entityType,
        group: n.group,
        description: f.description ?? c?.description ?? f.name,
        computation:
          c?.computation ?? (f.agg !== undefined ? describeAgg(f.agg) : `processor ${(n as ProcessNode).fn}`),
        source: Object.freeze([...(c?.source ?? [])]),
        window: c?.window ?? window,
        version: n.version,
        validation: rule ?? UNBOUNDED,
        valueNames: Object.freeze([...valueNames]),
        freshnessSlaSeconds: freshness,
        owner: c?.owner ?? t.name,
        tags: Object.freeze([...(c?.tags ?? ['custom', n.kind === 'window' ? 'windowed' : 'per-event'])]),
      });
      defs.push({ def, order: catalogOrder.get(f.id) ?? custom++ });
    }
  }
  defs.sort((a, b) => a.order - b.order);
  const features = Object.freeze(defs.map((d) => d.def));
  const groups: GroupDef[] = [];
  for (const f of features) {
    const g = groupDefs.get(f.group)!;
    if (!groups.includes(g)) groups.push(g);
  }
  const byKey = new Map<string, FeatureDef>();
  for (const f of features) {
    byKey.set(f.id, f);
    byKey.set(f.name, f);
    for (const v of f.valueNames) byKey.set(v, f);
  }
  const byGroup = new Map(
    groups.map((g) => [g.group, Object.freeze(features.filter((f) => f.group === g.group))]),
  );
  const byName = new Map(groups.map((g) => [g.group, g]));
  return Object.freeze({
    topology: t.name,
    features,
    groups: Object.freeze(groups),
    ttlSecondsByGroup: Object.freeze(Object.fromEntries(groups.map((g) => [g.group, g.ttlSeconds]))),
    rules: featureRules(t),
    byIdOrName: (k: string) => byKey.get(k),
    ofGroup: (g: string) => byGroup.get(g) ?? [],
    group: (g: string) => byName.get(g),
  });
}

let defaultTopology: string | null = null;
const byName = new Map<string, FeatureSet>();

/**
 * Names the topology whose feature set the platform uses when a caller gives none (the command
 * line sets it: the topology `run` defaults to). The platform itself names no topology.
 */
export function setDefaultTopology(name: string): void {
  defaultTopology = name;
}

/**
 * The feature set of the registered topology `name`, or of the default topology when `name` is
 * omitted (see {@link setDefaultTopology}); memoized per name.
 *
 * @throws ConfigError when no default is set or the name is not a registered topology.
 */
export function featureSetOf(name: string | null = defaultTopology): FeatureSet {
  if (name === null) {
    throw new ConfigError('no topology given and no default topology set (setDefaultTopology)', {
      field: 'topology',
    });
  }
  let set = byName.get(name);
  if (set === undefined) {
    const make = TOPOLOGIES.get(name);
    if (make === undefined) {
      throw new ConfigError(`unknown topology "${name}" (registered: ${[...TOPOLOGIES.keys()].join(', ')})`, {
        field: 'topology',
      });
    }
    set = featureSet(make());
    byName.set(name, set);
  }
  return set;
}
