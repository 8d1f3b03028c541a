/**
 * Topology files: a topology as JSON or YAML, a direct serialization of the node data in
 * `nodes.ts` with a schema version. {@link serializeTopology} writes one, {@link parseTopology}
 * reads one back (shape checked with zod, every rule then checked by `validateTopology`), and
 * {@link loadTopology} resolves a `--topology` value: a shipped topology's name or a file path.
 *
 * ```yaml
 * schemaVersion: 1
 * name: my-topology
 * nodes:
 *   - { id: events, kind: source, inputs: [] }
 *   - { id: decoded, kind: decode, inputs: [events], schema: llm-events }
 *   …
 * ```
 *
 * @example
 * const text = serializeTopology(llmPerfTopology(), 'yaml');
 * const same = parseTopology(text, 'yaml', 'perf.yaml');   // equal to llmPerfTopology()
 * const t = await loadTopology('examples/endpoint-errors/topology.yaml');
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, TopologyError } from '../src/errors.js';
import { freezeTopology, type Topology, type TopologyNode } from './nodes.js';
import { validateTopology } from './validate.js';

/** The schema version this code writes and reads. */
export const TOPOLOGY_SCHEMA_VERSION = 1;

/** File formats of a topology file. */
export type TopologyFileFormat = 'json' | 'yaml';

const id = z.string();
const inputs = z.array(z.string());
const base = { id, inputs, description: z.string().optional() };
const json: z.ZodType<unknown> = z.json();
const int = z.number();

const windowSpec = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('tumbling'), size: int, offset: int.optional() }),
  z.strictObject({ type: z.literal('sliding'), size: int, slide: int, offset: int.optional() }),
  z.strictObject({ type: z.literal('session'), gap: int, maxDuration: int.optional() }),
]);

const scale = z.number().optional();
const aggSpec = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('count'), scale }),
  z.strictObject({ type: z.literal('sum'), field: z.string(), scale }),
  z.strictObject({ type: z.literal('mean'), field: z.string(), scale }),
  z.strictObject({ type: z.literal('min'), field: z.string(), scale }),
  z.strictObject({ type: z.literal('max'), field: z.string(), scale }),
  z.strictObject({ type: z.literal('ratio'), num: z.string(), den: z.string().optional(), scale }),
  z.strictObject({ type: z.literal('latest'), field: z.string(), scale }),
  z.strictObject({ type: z.literal('quantile'), field: z.string(), q: z.number(), scale }),
  z.strictObject({
    type: z.literal('fn'),
    fn: z.string(),
    field: z.string(),
    params: z.json().optional(),
    scale,
  }),
]);

const validation = z
  .strictObject({ min: z.number().optional(), max: z.number().optional(), nullable: z.boolean().optional() })
  .optional();
const featureMeta = { description: z.string().optional(), validation };
const group = {
  group: z.string(),
  entityType: z.string(),
  version: int,
  ttlSeconds: int.optional(),
  freshnessSlaSeconds: int.optional(),
};

const node = z.discriminatedUnion('kind', [
  z.strictObject({ ...base, kind: z.literal('source') }),
  z.strictObject({ ...base, kind: z.literal('decode'), schema: z.string() }),
  z.strictObject({ ...base, kind: z.literal('filter'), fn: z.string(), params: json.optional() }),
  z.strictObject({
    ...base,
    kind: z.literal('map'),
    fn: z.string(),
    params: json.optional(),
    fields: z.array(z.string()),
    attributes: z.array(z.string()),
  }),
  z.strictObject({ ...base, kind: z.literal('keyBy'), key: z.string() }),
  z.strictObject({
    ...base,
    ...group,
    kind: z.literal('window'),
    key: z.string(),
    window: windowSpec,
    lateness: int,
    outOfOrderness: int,
    idleTimeoutMs: int.optional(),
    earlyFiring: z.strictObject({ intervalMs: int }).optional(),
    quantiles: z.strictObject({ exactUpTo: int, relativeAccuracy: z.number().optional() }).optional(),
    features: z.array(z.strictObject({ id: z.string(), name: z.string(), agg: aggSpec, ...featureMeta })),
  }),
  z.strictObject({
    ...base,
    ...group,
    kind: z.literal('process'),
    key: z.string(),
    fn: z.string(),
    params: json.optional(),
    outOfOrderness: int,
    features: z.array(
      z.strictObject({
        id: z.string(),
        name: z.string(),
        values: z.array(z.string()).optional(),
        ...featureMeta,
      }),
    ),
  }),
  z.strictObject({ ...base, kind: z.literal('sink') }),
]);

const fileSchema = z.strictObject({
  schemaVersion: z.literal(TOPOLOGY_SCHEMA_VERSION),
  name: z.string(),
  description: z.string().optional(),
  plugins: z.array(z.string()).optional(),
  nodes: z.array(node),
});

/** The plain document of a topology file: the topology's data plus `schemaVersion`. */
export interface TopologyDocument {
  readonly schemaVersion: number;
  readonly name: string;
  readonly description?: string;
  readonly plugins?: readonly string[];
  readonly nodes: readonly Record<string, unknown>[];
}

/** A node as a plain object with `id`, `kind` and `inputs` first (the rest in the node's own order). */
function nodeDocument(n: TopologyNode): Record<string, unknown> {
  const { id: nodeId, kind, inputs: ins, ...rest } = n as TopologyNode & Record<string, unknown>;
  return { id: nodeId, kind, inputs: [...ins], ...structuredClone(rest) };
}

/**
 * The document of a topology file, as plain JSON-compatible data.
 * @example
 * topologyDocument(llmPerfTopology()).schemaVersion; // 1
 */
export function topologyDocument(t: Topology): TopologyDocument {
  return {
    schemaVersion: TOPOLOGY_SCHEMA_VERSION,
    name: t.name,
    ...(t.description === undefined ? {} : { description: t.description }),
    ...(t.plugins === undefined || t.plugins.length === 0 ? {} : { plugins: [...t.plugins] }),
    nodes: t.nodes.map(nodeDocument),
  };
}

/**
 * A topology as the text of a topology file (`run --topology FILE` reads it back unchanged).
 * @example
 * writeFileSync('perf.yaml', serializeTopology(llmPerfTopology(), 'yaml'));
 */
export function serializeTopology(t: Topology, format: TopologyFileFormat): string {
  const doc = topologyDocument(t);
  if (format === 'json') return `${JSON.stringify(doc, null, 2)}\n`;
  // Flow style for short leaves keeps feature lists one per line; no line folding, no anchors.
  return stringifyYaml(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** `nodes[3].window.size` → `nodes.perf_5min.window.size` when node 3 has a string id. */
function fieldOf(path: readonly PropertyKey[], raw: unknown): string {
  const parts = path.map(String);
  const nodes = (raw as { nodes?: unknown } | null)?.nodes;
  if (parts[0] === 'nodes' && parts.length > 1 && Array.isArray(nodes)) {
    const nodeId = (nodes[Number(parts[1])] as { id?: unknown } | undefined)?.id;
    const head = typeof nodeId === 'string' && nodeId !== '' ? `nodes.${nodeId}` : `nodes[${parts[1]}]`;
    return [head, ...parts.slice(2).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))]
      .join('')
      .replace(/\.\[/g, '[');
  }
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `\`${k}\``).join(', ')}`;
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue) {
    return `\`${String(issue.discriminator)}\` is missing or not one of the known values`;
  }
  return issue.message;
}

/** Options of {@link parseTopology}. */
export interface ParseOptions {
  /** Check every topology rule (needs the plugins' functions registered). Default true. */
  readonly validate?: boolean;
  /** Directory that relative `plugins` paths are resolved against. Default: left as written. */
  readonly baseDir?: string;
}

/**
 * Reads the text of a topology file. The shape is checked first (unknown or mistyped fields),
 * then every topology rule (`validateTopology`); both errors name the field, with nodes named
 * by id (`nodes.perf_5min.window.size`).
 *
 * @param source the file name, for messages.
 * @throws TopologyError naming `source` and the field.
 */
export function parseTopology(
  text: string,
  format: TopologyFileFormat,
  source: string,
  opts: ParseOptions = {},
): Topology {
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new TopologyError(
      `topology file ${source}: not valid ${format.toUpperCase()}: ${(e as Error).message}`,
      {
        field: source,
        cause: e,
      },
    );
  }
  const version = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== TOPOLOGY_SCHEMA_VERSION) {
    throw new TopologyError(
      `topology file ${source}: field \`schemaVersion\` must be ${TOPOLOGY_SCHEMA_VERSION}, got ${JSON.stringify(version) ?? 'nothing'}`,
      { field: 'schemaVersion' },
    );
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = fieldOf(issue.path, raw);
    throw new TopologyError(`topology file ${source}: field \`${field}\`: ${issueText(issue)}`, { field });
  }
  // The checked document as written (zod's output would reorder keys): a direct read of the node data.
  const { schemaVersion: _v, ...data } = raw as TopologyDocument;
  const base = opts.baseDir;
  const plugins =
    data.plugins === undefined || base === undefined
      ? data.plugins
      : data.plugins.map((p) => (isAbsolute(p) ? p : resolve(base, p)));
  const t = freezeTopology({ ...data, ...(plugins === undefined ? {} : { plugins }) } as unknown as Topology);
  if (opts.validate ?? true) validateFileTopology(t, source);
  return t;
}

/**
 * `validateTopology` for a topology read from `source`: the error names the file as well.
 * @throws TopologyError naming `source` and the field.
 */
export function validateFileTopology(t: Topology, source: string): void {
  try {
    validateTopology(t);
  } catch (e) {
    if (e instanceof TopologyError) {
      throw new TopologyError(`topology file ${source}: ${e.message}`, {
        ...(e.field === undefined ? {} : { field: e.field }),
        ...(e.operator === undefined ? {} : { operator: e.operator }),
        cause: e,
      });
    }
    throw e;
  }
}

/** The format of a topology file by its extension, or undefined. */
export function topologyFileFormat(path: string): TopologyFileFormat | undefined {
  const ext = extname(path).toLowerCase();
  return ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : undefined;
}

/**
 * Reads a topology file (`.json`, `.yaml`, `.yml`).
 * @throws ConfigError naming `flag` when the file is missing or has another extension;
 *   TopologyError naming the field when its content is not a valid topology.
 */
export function readTopologyFile(path: string, flag = '--topology', validate = true): Topology {
  const format = topologyFileFormat(path);
  if (format === undefined) {
    throw new ConfigError(`${flag}: a topology file must end in .json, .yaml or .yml, got "${path}"`, {
      field: flag,
    });
  }
  if (!existsSync(path)) throw new ConfigError(`${flag}: no such file: ${path}`, { field: flag });
  return parseTopology(readFileSync(path, 'utf8'), format, path, {
    validate,
    baseDir: dirname(resolve(path)),
  });
}
