/**
 * What the command files of src/cli/ share: the topology modules (loaded once, by the first
 * command that needs them, never for `--help`), the `--topology`/`--plugin` flags, number
 * formatting, time flags and the offline-store flags with {@link withStore}.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Topology } from '../../topology/nodes.js';
import { ConfigError } from '../shared/errors.js';
import { parseDateOrTimestamp } from '../shared/timestamp.js';
import type { OfflineStore } from '../stores/offline-postgres.js';

/**
 * The topology modules, loaded by the first command that needs them (a preAction hook in
 * index.ts loads them before every action), not at start-up: `--help` and commands without a
 * topology skip them.
 */
let topologies: typeof import('../../topology/index.js') | undefined;

/**
 * Loads the topology modules (once) and returns them.
 *
 * @example
 * const { TOPOLOGIES } = await loadTopologies();
 */
export async function loadTopologies(): Promise<typeof import('../../topology/index.js')> {
  topologies ??= await import('../../topology/index.js');
  return topologies;
}

/**
 * A `--topology` value: a shipped topology's name or a topology file (.json, .yaml, .yml).
 * Synchronous: the topology modules must have been loaded ({@link loadTopologies}).
 *
 * @example
 * const t = topologyByName('llm-perf');
 */
export function topologyByName(spec: string): Topology {
  if (topologies === undefined) throw new Error('internal: topology modules not loaded before the action');
  return topologies.loadTopology(spec, '--topology');
}

/**
 * `--plugin ./module.js`, repeatable: user functions for topology files (docs/topology-files.md).
 *
 * @example
 * cmd.addOption(pluginOption());
 */
export const pluginOption = (): Option =>
  new Option(
    '--plugin <module>',
    'an ES module of user filters, maps, aggregations and processors (repeatable)',
  ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);

/**
 * The `--topology` of a command (default `llm-features`), with its `--plugin`s loaded.
 *
 * @example
 * const t = await topologyOf({ topology: 'llm-perf' });
 */
export const topologyOf = async (o: { topology?: unknown; plugin?: unknown }): Promise<Topology> =>
  (await loadTopologies()).openTopology(
    (o.topology as string | undefined) ?? 'llm-features',
    (o.plugin as string[] | undefined) ?? [],
  );

/**
 * The feature set (registry entries) of a topology.
 *
 * @example
 * const set = await featureSetOf(await topologyOf(o));
 */
export const featureSetOf = async (t: Topology) => (await import('../registry/feature-set.js')).featureSet(t);

/**
 * A count for people: `21262` → `21,262`.
 *
 * @example
 * fmt(21262); // '21,262'
 */
export const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/**
 * A breakdown in parentheses, sorted by key: ` (a 1, b 2)`, or '' when empty.
 *
 * @example
 * detail({ b: 2, a: 1 }); // ' (a 1, b 2)'
 */
export const detail = (r: Record<string, number>): string => {
  const parts = Object.entries(r)
    .sort()
    .map(([k, v]) => `${k} ${fmt(v)}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
};

/**
 * A time flag's parser: RFC 3339, a date (YYYY-MM-DD) or ms since the epoch → ms.
 *
 * @example
 * new Option('--from <time>').argParser(instant('--from'));
 */
export const instant =
  (flag: string) =>
  (v: string): number => {
    const t = /^-?\d+$/.test(v) ? Number(v) : parseDateOrTimestamp(v);
    if (t === null || !Number.isSafeInteger(t))
      throw new InvalidArgumentError(
        `${flag} must be RFC 3339, a date (YYYY-MM-DD) or ms since the epoch, got "${v}"`,
      );
    return t;
  };

/** The help of an `--offline` flag that reads the offline store. */
export const OFFLINE_HELP =
  'offline store: postgres://USER@HOST:PORT/DB[?schema=S], embedded or embedded:DIR';

/**
 * `--offline URL`, default `embedded`.
 *
 * @example
 * cmd.addOption(offlineOption());
 */
export const offlineOption = (): Option => new Option('--offline <url>', OFFLINE_HELP).default('embedded');

/**
 * `--schema NAME`: the schema of the offline tables.
 *
 * @example
 * cmd.addOption(schemaOption());
 */
export const schemaOption = (): Option =>
  new Option('--schema <name>', 'schema of the tables (overrides ?schema= in the URL)');

/**
 * How a command that only reads reaches an embedded store another process holds (a `serve`):
 * through a snapshot copy, said on stderr (docs/design-notes.md, "One default location").
 */
/** A store the command waits for: a warning line every few seconds (the command's own line stays the last). */
export const storeWaitingLine = (message: string): void => {
  process.stderr.write(`featurestream: warning: ${message}\n`);
};

export const readSnapshotIfInUse = (err: Error): void => {
  process.stderr.write(
    `note: ${err.message.replace(/; one opener at a time.*$/, '')}: reading a snapshot of it\n`,
  );
};

/**
 * Opens the store of `--offline`, runs `fn`, closes it; a missing table becomes a clear ConfigError.
 * With `readOnly`, an embedded store in use by another process is read through a snapshot copy.
 *
 * @example
 * await withStore({ offline: 'embedded' }, (store) => store.migrate());
 */
export async function withStore<T>(
  o: { offline: string; schema?: string },
  fn: (store: OfflineStore) => Promise<T>,
  { readOnly = false }: { readOnly?: boolean } = {},
): Promise<T> {
  // Loaded when a command runs, so registering the commands costs `--help` nothing.
  const { OfflineStore, pgCode } = await import('../stores/offline-postgres.js');
  const store = await OfflineStore.open(o.offline, {
    flag: '--offline',
    // How long an unreachable store is retried before the command fails (default 30 s).
    retryDeadlineMs: Number(process.env.FEATURESTREAM_RETRY_DEADLINE_MS ?? 30_000) || 30_000,
    // Nothing listening there fails at once, naming the URL; an unreachable one is retried,
    // with a line every few seconds.
    refusedIsFinal: true,
    onWaiting: storeWaitingLine,
    ...(o.schema === undefined ? {} : { schema: o.schema }),
    ...(readOnly ? { snapshotIfInUse: readSnapshotIfInUse } : {}),
  });
  try {
    return await fn(store);
  } catch (err) {
    if (pgCode(err) === '42P01') {
      throw new ConfigError(
        `--offline: no feature store in ${store.client.description} (schema ${store.schema}): run \`featurestream db migrate\` or a run with --offline first`,
        { field: '--offline', cause: err },
      );
    }
    throw err;
  } finally {
    await store.close();
  }
}
