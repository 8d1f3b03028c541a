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
import type * as Yaml from 'yaml';
import type { z } from 'zod';
import { ConfigError, TopologyError } from '../src/shared/errors.js';
import { lazy, lazyModule } from '../src/shared/lazy-module.js';
import { freezeTopology, type Topology, type TopologyNode } from './nodes.js';
import { validateTopology } from './validate.js';

/** The schema version this code writes and reads. */
export const TOPOLOGY_SCHEMA_VERSION = 1;

/** File formats of a topology file. */
export type TopologyFileFormat = 'json' | 'yaml';

// yaml and zod load on first use (synchronously, their CommonJS builds): a command that names a
// shipped topology never reads a file and skips ~0.2 s of module loading (issue 10).
const yaml = lazyModule<typeof Yaml>('yaml');
const zod = lazyModule<typeof import('zod')>('zod');
const fileSchemaOf = lazy(() => buildFileSchema(zod().z));

/** The zod schema of a topology file (shape only; `validateTopology` checks the rules). */
function buildFileSchema(zr: typeof z) {
  const id = zr.string();
  const inputs = zr.array(zr.string());
  const base = { id, inputs, description: zr.string().optional() };
  const json: z.ZodType<unknown> = zr.json();
  const int = zr.number();

  const windowSpec = zr.discriminatedUnion('type', [
    zr.strictObject({ type: zr.literal('tumbling'), size: int, offset: int.optional() }),
    zr.strictObject({ type: zr.literal('sliding'), size: int, slide: int, offset: int.optional() }),
    zr.strictObject({ type: zr.literal('session'), gap: int, maxDuration: int.optional() }),
  ]);

  const scale = zr.number().optional();
  const aggSpec = zr.discriminatedUnion('type', [
    zr.strictObject({ type: zr.literal('count'), scale }),
    zr.strictObject({ type: zr.literal('sum'), field: zr.string(), scale }),
    zr.strictObject({ type: zr.literal('mean'), field: zr.string(), scale }),
    zr.strictObject({ type: zr.literal('min'), field: zr.string(), scale }),
    zr.strictObject({ type: zr.literal('max'), field: zr.string(), scale }),
    zr.strictObject({ type: zr.literal('ratio'), num: zr.string(), den: zr.string().optional(), scale }),
    zr.strictObject({ type: zr.literal('latest'), field: zr.string(), scale }),
    zr.strictObject({ type: zr.literal('quantile'), field: zr.string(), q: zr.number(), scale }),
    zr.strictObject({
      type: zr.literal('fn'),
      fn: zr.string(),
      field: zr.string(),
      params: zr.json().optional(),
      scale,
    }),
  ]);

  const validation = zr
    .strictObject({
      min: zr.number().optional(),
      max: zr.number().optional(),
      nullable: zr.boolean().optional(),
    })
    .optional();
  const featureMeta = { description: zr.string().optional(), validation };
  const group = {
    group: zr.string(),
    entityType: zr.string(),
    version: int,
    ttlSeconds: int.optional(),
    freshnessSlaSeconds: int.optional(),
  };

  const node = zr.discriminatedUnion('kind', [
    zr.strictObject({ ...base, kind: zr.literal('source') }),
    zr.strictObject({ ...base, kind: zr.literal('decode'), schema: zr.string() }),
    zr.strictObject({ ...base, kind: zr.literal('filter'), fn: zr.string(), params: json.optional() }),
    zr.strictObject({
      ...base,
      kind: zr.literal('map'),
      fn: zr.string(),
      params: json.optional(),
      fields: zr.array(zr.string()),
      attributes: zr.array(zr.string()),
    }),
    zr.strictObject({ ...base, kind: zr.literal('keyBy'), key: zr.string() }),
    zr.strictObject({
      ...base,
      ...group,
      kind: zr.literal('window'),
      key: zr.string(),
      window: windowSpec,
      lateness: int,
      outOfOrderness: int,
      idleTimeoutMs: int.optional(),
      earlyFiring: zr.strictObject({ intervalMs: int }).optional(),
      quantiles: zr.strictObject({ exactUpTo: int, relativeAccuracy: zr.number().optional() }).optional(),
      features: zr.array(
        zr.strictObject({ id: zr.string(), name: zr.string(), agg: aggSpec, ...featureMeta }),
      ),
    }),
    zr.strictObject({
      ...base,
      ...group,
      kind: zr.literal('process'),
      key: zr.string(),
      fn: zr.string(),
      params: json.optional(),
      outOfOrderness: int,
      features: zr.array(
        zr.strictObject({
          id: zr.string(),
          name: zr.string(),
          values: zr.array(zr.string()).optional(),
          ...featureMeta,
        }),
      ),
    }),
    zr.strictObject({ ...base, kind: zr.literal('sink') }),
  ]);

  const fileSchema = zr.strictObject({
    schemaVersion: zr.literal(TOPOLOGY_SCHEMA_VERSION),
    name: zr.string(),
    description: zr.string().optional(),
    plugins: zr.array(zr.string()).optional(),
    nodes: zr.array(node),
  });
  return fileSchema;
}

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
  return yaml().stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
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

function issueText(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `\`${k}\``).join(', ')}`;
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue) {
    // An unknown `kind` or `type` is answered with the list of valid values (zod's issue holds it).
    const key = String(issue.discriminator);
    const known = (issue as { options?: readonly unknown[] }).options;
    let given: unknown = raw;
    for (const p of issue.path) given = (given as Record<PropertyKey, unknown> | null | undefined)?.[p];
    if (known === undefined || known.length === 0)
      return `\`${key}\` is missing or not one of the known values`;
    return `\`${key}\` must be one of ${known.map(String).join(', ')}, got ${given === undefined ? 'nothing' : JSON.stringify(given)}`;
  }
  return issue.message;
}

/** Options of {@link parseTopology}. */
export interface ParseOptions {
  /** Check every topology rule (needs the plugins' functions registered). Default true. */
  readonly validate?: boolean;
  /** Directory that relative `plugins` paths are resolved against. Default: left as written. */
  readonly baseDir?: string;
  /**
   * The document's shape was checked already (a build compiled it from a checked file): skip
   * the schema pass. The topology rules still run when `validate` is on.
   */
  readonly shapeChecked?: boolean;
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
    raw = format === 'json' ? JSON.parse(text) : yaml().parse(text);
  } catch (e) {
    throw new TopologyError(
      // The YAML library's message ends in a code frame over several lines: one line, no frame.
      `topology file ${source}: not valid ${format.toUpperCase()}: ${(e as Error).message.split('\n')[0]!.replace(/:$/, '')}`,
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
  const parsed = opts.shapeChecked === true ? { success: true as const } : fileSchemaOf().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = fieldOf(issue.path, raw);
    throw new TopologyError(`topology file ${source}: field \`${field}\`: ${issueText(issue, raw)}`, {
      field,
    });
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
