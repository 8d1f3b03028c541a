/**
 * Validation passes over a {@link Topology}. `validateTopology` checks the whole graph and throws
 * a {@link TopologyError} at the first broken rule; the message names the node, the field and the
 * rule, and the error carries `field` (a path such as `nodes.perf_1hr.window.slide`) and
 * `operator` (the node id). `validateWindowSpec` checks one window definition on its own and
 * throws a {@link ConfigError}, so configuration loaders can use it directly.
 *
 * @example
 * validateTopology(llmFeaturesTopology()); // ok
 * validateWindowSpec({ type: 'sliding', size: 3_600_000, slide: 0 }, 'nodes.perf_1hr.window');
 * // ConfigError: sliding window `slide` must be > 0 and ≤ `size`, got 0  (field nodes.perf_1hr.window.slide)
 */
import { ConfigError, TopologyError } from '../src/shared/errors.js';
import { AGGREGATIONS } from '../operators/aggregation-functions.js';
import { FILTERS, MAPS, PROCESSORS } from '../operators/functions.js';
import { hasSchema, schemaNames } from '../operators/schemas.js';
import type {
  AggSpec,
  FeatureMeta,
  KeyByNode,
  MapNode,
  NodeKind,
  ProcessNode,
  Topology,
  TopologyNode,
  WindowNode,
} from './nodes.js';

/** Which node kinds may feed each kind. Filters and maps read decoded events, so neither follows a map. */
export const ALLOWED_UPSTREAM: Readonly<Record<NodeKind, readonly NodeKind[]>> = Object.freeze({
  source: Object.freeze([]),
  decode: Object.freeze(['source']),
  filter: Object.freeze(['decode', 'filter']),
  map: Object.freeze(['decode', 'filter']),
  keyBy: Object.freeze(['map']),
  window: Object.freeze(['keyBy']),
  process: Object.freeze(['keyBy']),
  sink: Object.freeze(['window', 'process']),
} satisfies Record<NodeKind, readonly NodeKind[]>);

const KINDS = new Set<string>(Object.keys(ALLOWED_UPSTREAM));

const show = (v: unknown): string =>
  typeof v === 'number' || v === undefined ? String(v) : (JSON.stringify(v) ?? String(v));

const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isNonNegativeInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Checks one window definition. All durations are integer milliseconds.
 * - tumbling: `size` > 0, |`offset`| < `size`
 * - sliding: `size` > 0, 0 < `slide` ≤ `size`, |`offset`| < `slide`
 * - session: `gap` > 0, `maxDuration` ≥ `gap` when set
 *
 * @param path the field path of the spec, e.g. `nodes.perf_1hr.window`; errors name `${path}.<prop>`.
 * @throws ConfigError naming the field and the rule.
 * @example
 * validateWindowSpec({ type: 'tumbling', size: 300_000 }, 'nodes.perf_5min.window');
 */
export function validateWindowSpec(spec: unknown, path: string): void {
  const fail = (prop: string, message: string): never => {
    throw new ConfigError(message, { field: `${path}.${prop}` });
  };
  if (spec === null || typeof spec !== 'object') {
    throw new ConfigError(`window must be an object, got ${show(spec)}`, { field: path });
  }
  const s = spec as Record<string, unknown>;
  switch (s.type) {
    case 'tumbling': {
      if (!isPositiveInt(s.size))
        fail('size', `tumbling window \`size\` must be a positive integer (ms), got ${show(s.size)}`);
      if (s.offset !== undefined) {
        if (!Number.isSafeInteger(s.offset))
          fail('offset', `tumbling window \`offset\` must be an integer (ms), got ${show(s.offset)}`);
        if (Math.abs(s.offset as number) >= (s.size as number)) {
          fail(
            'offset',
            `tumbling window \`offset\` must satisfy |offset| < \`size\`, got ${show(s.offset)}`,
          );
        }
      }
      return;
    }
    case 'sliding': {
      if (!isPositiveInt(s.size))
        fail('size', `sliding window \`size\` must be a positive integer (ms), got ${show(s.size)}`);
      const size = s.size as number;
      if (typeof s.slide !== 'number' || !(s.slide > 0 && s.slide <= size)) {
        fail('slide', `sliding window \`slide\` must be > 0 and ≤ \`size\`, got ${show(s.slide)}`);
      }
      if (!Number.isSafeInteger(s.slide))
        fail('slide', `sliding window \`slide\` must be an integer (ms), got ${show(s.slide)}`);
      if (s.offset !== undefined) {
        if (!Number.isSafeInteger(s.offset))
          fail('offset', `sliding window \`offset\` must be an integer (ms), got ${show(s.offset)}`);
        if (Math.abs(s.offset as number) >= (s.slide as number)) {
          fail(
            'offset',
            `sliding window \`offset\` must satisfy |offset| < \`slide\`, got ${show(s.offset)}`,
          );
        }
      }
      return;
    }
    case 'session': {
      if (!isPositiveInt(s.gap))
        fail('gap', `session window \`gap\` must be a positive integer (ms), got ${show(s.gap)}`);
      if (
        s.maxDuration !== undefined &&
        !(isPositiveInt(s.maxDuration) && s.maxDuration >= (s.gap as number))
      ) {
        fail(
          'maxDuration',
          `session window \`maxDuration\` must be an integer ≥ \`gap\` (ms), got ${show(s.maxDuration)}`,
        );
      }
      return;
    }
    default:
      fail('type', `window \`type\` must be one of tumbling, sliding, session, got ${show(s.type)}`);
  }
}

/** Throws the topology error for one rule: "node `id`, field `f`: <rule text>". */
function fail(operator: string | undefined, field: string, rule: string): never {
  const where =
    operator === undefined ? `topology, field \`${field}\`` : `node \`${operator}\`, field \`${field}\``;
  throw new TopologyError(`${where}: ${rule}`, operator === undefined ? { field } : { field, operator });
}

const AGG_FIELD_PROPS: Readonly<Record<AggSpec['type'], readonly ('field' | 'num' | 'den')[]>> = {
  count: [],
  sum: ['field'],
  mean: ['field'],
  min: ['field'],
  max: ['field'],
  ratio: ['num', 'den'],
  latest: ['field'],
  quantile: ['field'],
  fn: ['field'],
};

/**
 * Checks that a topology can run, in this order: the topology name; node ids (non-empty, unique);
 * node kinds; input counts (source none, sink ≥ 1, every other kind exactly 1); missing inputs;
 * cycles; which kind may feed which ({@link ALLOWED_UPSTREAM}); registered operators (decode
 * schema, filter/map function, their params, the map's declared fields and attributes); keys
 * (a keyBy's key is an attribute of its map, a window's key equals its keyBy's key); the fields
 * each aggregation reads; window config (spec, lateness, out-of-orderness, idle timeout, early
 * firing, version, group, entity type); features (valid aggregations, ids and names unique across
 * the topology, group names unique); and that every window feeds a sink.
 *
 * @throws TopologyError with `field` (e.g. `nodes.perf_1hr.window.slide`) and `operator` (the node id).
 * @example
 * validateTopology(topology('demo').source('events').build()); // build() calls this for you
 */
export function validateTopology(t: Topology): void {
  if (t === null || typeof t !== 'object')
    fail(undefined, '', `a topology must be an object, got ${show(t)}`);
  if (!isNonEmptyString(t.name))
    fail(undefined, 'name', `topology \`name\` must be a non-empty string, got ${show(t.name)}`);
  if (!Array.isArray(t.nodes) || t.nodes.length === 0) {
    fail(undefined, 'nodes', 'empty topology: `nodes` must list at least one node');
  }
  if (
    t.plugins !== undefined &&
    !(Array.isArray(t.plugins) && t.plugins.every((p) => typeof p === 'string' && p.length > 0))
  ) {
    fail(undefined, 'plugins', `\`plugins\` must list module paths, got ${show(t.plugins)}`);
  }
  const nodes = t.nodes as readonly TopologyNode[];

  // Ids and kinds.
  const byId = new Map<string, TopologyNode>();
  nodes.forEach((n, i) => {
    if (n === null || typeof n !== 'object')
      fail(undefined, `nodes[${i}]`, `node must be an object, got ${show(n)}`);
    if (!isNonEmptyString(n.id))
      fail(undefined, `nodes[${i}].id`, `empty id: node ids must be non-empty strings, got ${show(n.id)}`);
    if (byId.has(n.id)) fail(n.id, `nodes[${i}].id`, `duplicate id \`${n.id}\`: node ids must be unique`);
    byId.set(n.id, n);
    if (!KINDS.has(n.kind)) {
      fail(n.id, `nodes.${n.id}.kind`, `unknown node kind ${show(n.kind)} (known: ${[...KINDS].join(', ')})`);
    }
  });

  // Input counts and references.
  for (const n of nodes) {
    const field = `nodes.${n.id}.inputs`;
    if (!Array.isArray(n.inputs))
      fail(n.id, field, `\`inputs\` must be an array of node ids, got ${show(n.inputs)}`);
    const count = n.inputs.length;
    if (n.kind === 'source' && count !== 0) {
      fail(n.id, field, `wrong input count: a source has no inputs, got ${count} (${n.inputs.join(', ')})`);
    }
    if (n.kind === 'sink' && count < 1)
      fail(n.id, field, 'wrong input count: a sink needs at least 1 input, got 0');
    if (n.kind !== 'source' && n.kind !== 'sink' && count !== 1) {
      fail(n.id, field, `wrong input count: a ${n.kind} needs exactly 1 input, got ${count}`);
    }
    const seen = new Set<string>();
    n.inputs.forEach((input, i) => {
      if (seen.has(input)) fail(n.id, `${field}[${i}]`, `duplicate input \`${input}\``);
      seen.add(input);
      if (!byId.has(input)) fail(n.id, `${field}[${i}]`, `missing input \`${input}\`: no node has this id`);
    });
  }

  checkAcyclic(nodes, byId);

  // Which kind may feed which.
  for (const n of nodes) {
    n.inputs.forEach((input, i) => {
      const up = byId.get(input)!;
      const allowed = ALLOWED_UPSTREAM[n.kind];
      if (!allowed.includes(up.kind)) {
        fail(
          n.id,
          `nodes.${n.id}.inputs[${i}]`,
          `invalid edge: a ${n.kind} cannot follow a ${up.kind} (\`${up.id}\`); allowed upstream: ${allowed.join(', ') || 'none'}`,
        );
      }
    });
  }

  // The single upstream node of a non-sink node (after the checks above it exists and has the right kind).
  const upstream = <N extends TopologyNode>(n: TopologyNode): N => byId.get(n.inputs[0]!)! as N;

  for (const n of nodes) {
    switch (n.kind) {
      case 'decode':
        if (!hasSchema(n.schema)) {
          fail(
            n.id,
            `nodes.${n.id}.schema`,
            `unknown operator: decode schema ${show(n.schema)} is not registered (known: ${schemaNames().join(', ')})`,
          );
        }
        break;
      case 'filter': {
        const def = FILTERS.get(n.fn);
        if (def === undefined) {
          fail(
            n.id,
            `nodes.${n.id}.fn`,
            `unknown operator: filter function ${show(n.fn)} is not registered (known: ${[...FILTERS.keys()].join(', ')})`,
          );
        }
        checkParams(n.id, 'filter', n.fn, () => def.create(n.params));
        break;
      }
      case 'map':
        checkMap(n);
        break;
      case 'keyBy': {
        const map = upstream<MapNode>(n);
        if (!map.attributes.includes(n.key)) {
          fail(
            n.id,
            `nodes.${n.id}.key`,
            `unknown key: ${show(n.key)} is not an attribute of map \`${map.id}\` (attributes: ${map.attributes.join(', ')})`,
          );
        }
        break;
      }
      case 'window': {
        const keyBy = upstream<KeyByNode>(n);
        if (n.key !== keyBy.key) {
          fail(
            n.id,
            `nodes.${n.id}.key`,
            `key mismatch: the window expects key ${show(n.key)} but upstream keyBy \`${keyBy.id}\` keys by ${show(keyBy.key)}`,
          );
        }
        checkWindow(n, upstream<MapNode>(keyBy));
        break;
      }
      case 'process': {
        const keyBy = upstream<KeyByNode>(n);
        if (n.key !== keyBy.key) {
          fail(
            n.id,
            `nodes.${n.id}.key`,
            `key mismatch: the processor expects key ${show(n.key)} but upstream keyBy \`${keyBy.id}\` keys by ${show(keyBy.key)}`,
          );
        }
        checkProcess(n, upstream<MapNode>(keyBy));
        break;
      }
      default:
        break;
    }
  }

  checkUniqueness(nodes);

  // Every window must reach a sink.
  const sunk = new Set(nodes.flatMap((n) => (n.kind === 'sink' ? n.inputs : [])));
  for (const n of nodes) {
    if ((n.kind === 'window' || n.kind === 'process') && !sunk.has(n.id)) {
      fail(n.id, `nodes.${n.id}`, `${n.kind} ${n.id} is not connected to a sink`);
    }
  }
}

/** Depth-first search along inputs; a back edge is a cycle, reported in data-flow order. */
function checkAcyclic(nodes: readonly TopologyNode[], byId: ReadonlyMap<string, TopologyNode>): void {
  const state = new Map<string, 'active' | 'done'>();
  for (const root of nodes) {
    if (state.has(root.id)) continue;
    // Explicit stack so deep chains cannot overflow the call stack.
    const path: string[] = [];
    const stack: { id: string; next: number }[] = [{ id: root.id, next: 0 }];
    state.set(root.id, 'active');
    path.push(root.id);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const inputs = byId.get(top.id)!.inputs;
      if (top.next < inputs.length) {
        const input = inputs[top.next++]!;
        const s = state.get(input);
        if (s === 'active') {
          // path runs against data flow (consumer, then its input, …) from `input` to `top`;
          // reversed and rotated, the cycle reads in data-flow order starting at `input`.
          const against = path.slice(path.indexOf(input));
          const cycle = [input, ...against.slice(1).reverse()];
          const names = [...cycle, cycle[0]!].map((id) => `\`${id}\``).join(' → ');
          fail(cycle[0]!, `nodes.${cycle[0]!}.inputs`, `cycle: ${names}`);
        }
        if (s === undefined) {
          state.set(input, 'active');
          path.push(input);
          stack.push({ id: input, next: 0 });
        }
      } else {
        state.set(top.id, 'done');
        path.pop();
        stack.pop();
      }
    }
  }
}

function checkParams(id: string, kind: string, fn: string, create: () => unknown): void {
  try {
    create();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    fail(id, `nodes.${id}.params`, `invalid params for ${kind} function \`${fn}\`: ${reason}`);
  }
}

function checkMap(n: MapNode): void {
  const def = MAPS.get(n.fn);
  if (def === undefined) {
    fail(
      n.id,
      `nodes.${n.id}.fn`,
      `unknown operator: map function ${show(n.fn)} is not registered (known: ${[...MAPS.keys()].join(', ')})`,
    );
  }
  // The extractor emits values in its own order; the node must declare exactly that order.
  const same = (a: unknown, b: readonly string[]) =>
    Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same(n.fields, def.fields)) {
    fail(
      n.id,
      `nodes.${n.id}.fields`,
      `fields mismatch: map \`fields\` must be those of extractor \`${n.fn}\` in order (${def.fields.join(', ')}), got ${show(n.fields)}`,
    );
  }
  if (!same(n.attributes, def.attributes)) {
    fail(
      n.id,
      `nodes.${n.id}.attributes`,
      `attributes mismatch: map \`attributes\` must be those of extractor \`${n.fn}\` (${def.attributes.join(', ')}), got ${show(n.attributes)}`,
    );
  }
  checkParams(n.id, 'map', n.fn, () => def.create(n.params));
}

function checkWindow(n: WindowNode, map: MapNode): void {
  const at = (prop: string) => `nodes.${n.id}.${prop}`;
  try {
    validateWindowSpec(n.window, at('window'));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const field = e.field ?? at('window');
    throw new TopologyError(`node \`${n.id}\`, field \`${field}\`: ${e.message}`, {
      field,
      operator: n.id,
      cause: e,
    });
  }
  if (!isNonNegativeInt(n.lateness)) {
    fail(n.id, at('lateness'), `window \`lateness\` must be an integer ≥ 0 (ms), got ${show(n.lateness)}`);
  }
  if (!isNonNegativeInt(n.outOfOrderness)) {
    fail(
      n.id,
      at('outOfOrderness'),
      `window \`outOfOrderness\` must be an integer ≥ 0 (ms), got ${show(n.outOfOrderness)}`,
    );
  }
  if (n.idleTimeoutMs !== undefined && !isPositiveInt(n.idleTimeoutMs)) {
    fail(
      n.id,
      at('idleTimeoutMs'),
      `window \`idleTimeoutMs\` must be a positive integer (ms), got ${show(n.idleTimeoutMs)}`,
    );
  }
  if (n.earlyFiring !== undefined && !isPositiveInt(n.earlyFiring?.intervalMs)) {
    fail(
      n.id,
      at('earlyFiring.intervalMs'),
      `window \`earlyFiring.intervalMs\` must be a positive integer (ms), got ${show(n.earlyFiring?.intervalMs)}`,
    );
  }
  if (n.quantiles !== undefined) {
    if (!isNonNegativeInt(n.quantiles?.exactUpTo)) {
      fail(
        n.id,
        at('quantiles.exactUpTo'),
        `window \`quantiles.exactUpTo\` must be an integer ≥ 0 (values kept exactly), got ${show(n.quantiles?.exactUpTo)}`,
      );
    }
    const ra = n.quantiles?.relativeAccuracy;
    if (ra !== undefined && !(typeof ra === 'number' && ra > 0 && ra <= 0.1)) {
      fail(
        n.id,
        at('quantiles.relativeAccuracy'),
        `window \`quantiles.relativeAccuracy\` must be a number in (0, 0.1], got ${show(ra)}`,
      );
    }
  }
  if (!isPositiveInt(n.version)) {
    fail(n.id, at('version'), `window \`version\` must be a positive integer, got ${show(n.version)}`);
  }
  if (!isNonEmptyString(n.group))
    fail(n.id, at('group'), `window \`group\` must be a non-empty string, got ${show(n.group)}`);
  if (!isNonEmptyString(n.entityType)) {
    fail(
      n.id,
      at('entityType'),
      `window \`entityType\` must be a non-empty string, got ${show(n.entityType)}`,
    );
  }
  if (!Array.isArray(n.features) || n.features.length === 0) {
    fail(n.id, at('features'), 'window `features` must list at least one feature');
  }
  n.features.forEach((f, i) => {
    const fp = `features[${i}]`;
    if (!isNonEmptyString(f?.id))
      fail(n.id, at(`${fp}.id`), `feature \`id\` must be a non-empty string, got ${show(f?.id)}`);
    if (!isNonEmptyString(f.name))
      fail(n.id, at(`${fp}.name`), `feature \`name\` must be a non-empty string, got ${show(f.name)}`);
    checkAgg(n, map, f.agg, at(`${fp}.agg`), f.id);
    checkFeatureMeta(n.id, f, at(fp));
  });
  checkGroupOptions(n);
}

/** The optional group settings of a window or process node (TTL, freshness SLA). */
function checkGroupOptions(n: WindowNode | ProcessNode): void {
  for (const prop of ['ttlSeconds', 'freshnessSlaSeconds'] as const) {
    const v = n[prop];
    if (v !== undefined && !isPositiveInt(v)) {
      fail(n.id, `nodes.${n.id}.${prop}`, `\`${prop}\` must be a positive integer (seconds), got ${show(v)}`);
    }
  }
}

/** A feature's optional description and validation rule. */
function checkFeatureMeta(id: string, f: FeatureMeta, path: string): void {
  if (f.description !== undefined && typeof f.description !== 'string') {
    fail(id, `${path}.description`, `feature \`description\` must be a string, got ${show(f.description)}`);
  }
  const v = f.validation;
  if (v === undefined) return;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    fail(id, `${path}.validation`, `feature \`validation\` must be an object, got ${show(v)}`);
  }
  for (const bound of ['min', 'max'] as const) {
    const b = v[bound];
    if (b !== undefined && !(typeof b === 'number' && Number.isFinite(b))) {
      fail(
        id,
        `${path}.validation.${bound}`,
        `\`validation.${bound}\` must be a finite number, got ${show(b)}`,
      );
    }
  }
  if (v.min !== undefined && v.max !== undefined && v.min > v.max) {
    fail(id, `${path}.validation.max`, `\`validation.max\` must be ≥ \`min\` (${v.min}), got ${show(v.max)}`);
  }
  if (v.nullable !== undefined && typeof v.nullable !== 'boolean') {
    fail(
      id,
      `${path}.validation.nullable`,
      `\`validation.nullable\` must be true or false, got ${show(v.nullable)}`,
    );
  }
}

function checkAgg(n: WindowNode, map: MapNode, agg: AggSpec, path: string, feature: string): void {
  const props = agg !== null && typeof agg === 'object' ? AGG_FIELD_PROPS[agg.type] : undefined;
  if (props === undefined) {
    fail(
      n.id,
      `${path}.type`,
      `unknown operator: aggregation type ${show((agg as { type?: unknown } | null)?.type)} of feature \`${feature}\` (known: ${Object.keys(AGG_FIELD_PROPS).join(', ')})`,
    );
  }
  const a = agg as unknown as Record<string, unknown>;
  for (const prop of props) {
    const v = a[prop];
    if (prop === 'den' && v === undefined) continue;
    if (typeof v !== 'string' || !map.fields.includes(v)) {
      fail(
        n.id,
        `${path}.${prop}`,
        `unknown field: feature \`${feature}\` reads ${show(v)}, which map \`${map.id}\` does not produce (fields: ${map.fields.join(', ')})`,
      );
    }
  }
  if (agg.type === 'fn') {
    const def = AGGREGATIONS.get(agg.fn);
    if (def === undefined) {
      fail(
        n.id,
        `${path}.fn`,
        `unknown operator: aggregation function ${show(agg.fn)} of feature \`${feature}\` is not registered (known: ${[...AGGREGATIONS.keys()].join(', ') || 'none; load a plugin with --plugin'})`,
      );
    }
    checkParams(n.id, 'aggregation', agg.fn, () => def.validate?.(agg.params));
  }
  if (agg.type === 'quantile' && !(typeof agg.q === 'number' && agg.q > 0 && agg.q <= 1)) {
    fail(n.id, `${path}.q`, `quantile \`q\` must be in (0, 1], got ${show(agg.q)}`);
  }
  if (agg.scale !== undefined && !(typeof agg.scale === 'number' && Number.isFinite(agg.scale))) {
    fail(n.id, `${path}.scale`, `aggregation \`scale\` must be a finite number, got ${show(agg.scale)}`);
  }
}

function checkProcess(n: ProcessNode, map: MapNode): void {
  const at = (f: string) => `nodes.${n.id}.${f}`;
  const def = PROCESSORS.get(n.fn);
  if (def === undefined) {
    fail(
      n.id,
      at('fn'),
      `unknown operator: processor ${show(n.fn)} is not registered (known: ${[...PROCESSORS.keys()].join(', ')})`,
    );
  }
  const missing = def.requiresFields.filter((f) => !map.fields.includes(f));
  if (missing.length > 0) {
    fail(
      n.id,
      at('fn'),
      `unknown field: processor \`${n.fn}\` reads ${missing.join(', ')}, which map \`${map.id}\` does not produce (fields: ${map.fields.join(', ')})`,
    );
  }
  const missingAttrs = def.requiresAttributes.filter((a) => !map.attributes.includes(a));
  if (missingAttrs.length > 0) {
    fail(
      n.id,
      at('fn'),
      `unknown attribute: processor \`${n.fn}\` reads ${missingAttrs.join(', ')}, which map \`${map.id}\` does not produce (attributes: ${map.attributes.join(', ')})`,
    );
  }
  if (!isNonNegativeInt(n.outOfOrderness)) {
    fail(
      n.id,
      at('outOfOrderness'),
      `\`outOfOrderness\` must be an integer ≥ 0 (ms), got ${show(n.outOfOrderness)}`,
    );
  }
  if (!isPositiveInt(n.version))
    fail(n.id, at('version'), `\`version\` must be a positive integer, got ${show(n.version)}`);
  if (!isNonEmptyString(n.group))
    fail(n.id, at('group'), `\`group\` must be a non-empty string, got ${show(n.group)}`);
  if (!isNonEmptyString(n.entityType)) {
    fail(n.id, at('entityType'), `\`entityType\` must be a non-empty string, got ${show(n.entityType)}`);
  }
  if (!Array.isArray(n.features) || n.features.length === 0) {
    fail(n.id, at('features'), 'processor `features` must list at least one feature');
  }
  n.features.forEach((f, i) => {
    const fp = `features[${i}]`;
    if (!isNonEmptyString(f?.id))
      fail(n.id, at(`${fp}.id`), `feature \`id\` must be a non-empty string, got ${show(f?.id)}`);
    if (!isNonEmptyString(f.name))
      fail(n.id, at(`${fp}.name`), `feature \`name\` must be a non-empty string, got ${show(f.name)}`);
    if (
      f.values !== undefined &&
      !(Array.isArray(f.values) && f.values.length > 0 && f.values.every(isNonEmptyString))
    ) {
      fail(
        n.id,
        at(`${fp}.values`),
        `feature \`values\` must list non-empty value names, got ${show(f.values)}`,
      );
    }
    checkFeatureMeta(n.id, f, at(fp));
  });
  checkGroupOptions(n);
  checkParams(n.id, 'processor', n.fn, () => def.validate(n.params));
}

function checkUniqueness(nodes: readonly TopologyNode[]): void {
  const ids = new Map<string, string>();
  const names = new Map<string, string>();
  const groups = new Map<string, string>();
  for (const n of nodes) {
    if (n.kind !== 'window' && n.kind !== 'process') continue;
    const prev = groups.get(n.group);
    if (prev !== undefined) {
      fail(n.id, `nodes.${n.id}.group`, `duplicate group ${show(n.group)}: already used by \`${prev}\``);
    }
    groups.set(n.group, n.id);
    n.features.forEach((f, i) => {
      const at = `nodes.${n.id}.features[${i}]`;
      const byId = ids.get(f.id);
      if (byId !== undefined)
        fail(n.id, `${at}.id`, `duplicate feature id ${show(f.id)}: already defined in \`${byId}\``);
      ids.set(f.id, n.id);
      const byName = names.get(f.name);
      if (byName !== undefined) {
        fail(n.id, `${at}.name`, `duplicate feature name ${show(f.name)}: already defined in \`${byName}\``);
      }
      names.set(f.name, n.id);
    });
  }
}
