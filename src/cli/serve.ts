/**
 * `featurestream serve`: runs the feature-serving HTTP API against the Redis online store (L2)
 * and the PostgreSQL offline store (L3), with an in-process L1 cache invalidated over Redis
 * pub/sub. Logs (pino, JSON) go to stderr; the listening address is printed on stdout. SIGTERM
 * or SIGINT stop accepting connections, finish the requests in flight, close the stores and exit 0.
 *
 * @example
 * const program = new Command();
 * registerServeCommand(program);
 * await program.parseAsync(['node', 'featurestream', 'serve', '--port', '8080']);
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { redactUrlPasswords } from '../shared/connections.js';
import { ConfigError, InUseError } from '../shared/errors.js';
import { type ListenTls, listenTlsOf } from '../shared/listen-tls.js';
import type { FeatureSet } from '../registry/feature-set.js';
import type { RolloutArm } from '../registry/rollout.js';
import { exitOnSignals } from './guard.js';

/** The resolved configuration of one `serve` process. */
export interface ServeConfig {
  readonly port: number;
  readonly host: string;
  /** `redis://…` or null (`--online none` or embedded). */
  readonly onlineUrl: string | null;
  /** `embedded` / `embedded:DIR` (the run's embedded LevelDB online store), or null. */
  readonly onlineEmbedded?: string | null;
  /** `embedded` / `embedded:DIR` (the run's embedded PGlite offline store), or null. */
  readonly offlineEmbedded?: string | null;
  /** `postgres://…` (without `?schema=`) or null (`--offline none`). */
  readonly offlineUrl: string | null;
  readonly offlineSchema: string;
  readonly authToken: string | undefined;
  readonly l1MaxBytes: number;
  readonly l1TtlMs: number;
  readonly maxBatch: number;
  readonly keyPrefix: string;
  readonly rollout: Readonly<Record<string, readonly RolloutArm[]>>;
  /** The features and groups served (`--topology`). */
  readonly featureSet: FeatureSet;
  /** `--tls-cert` / `--tls-key`: listen with HTTPS; null for plain HTTP. */
  readonly tls?: ListenTls | null;
}

/** The raw flag values of `serve`, as commander parses them. */
export interface ServeFlags {
  port: number;
  host: string;
  online: string;
  offline: string;
  offlineSchema?: string;
  authTokenEnv?: string;
  l1MaxBytes: number;
  l1TtlMs: number;
  maxBatch: number;
  keyPrefix: string;
  rollout?: string[];
  logLevel: string;
  topology?: string;
  plugin?: string[];
  tlsCert?: string;
  tlsKey?: string;
}

/** A started server. */
export interface RunningServer {
  readonly app: FastifyInstance;
  /** e.g. `http://127.0.0.1:8080`. */
  readonly address: string;
  /** Stops accepting, drains in-flight requests, closes the stores. Idempotent. */
  close(): Promise<void>;
}

const int =
  (flag: string, min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}, got "${v}"`);
    }
    return n;
  };

/**
 * Checks the flags and the environment and builds the {@link ServeConfig}. Throws
 * {@link ConfigError} naming the flag.
 *
 * @example
 * resolveServeConfig({ ...flags, online: 'redis://127.0.0.1:6379', offline: 'none' }, process.env);
 */
export function resolveServeConfig(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
): Omit<ServeConfig, 'featureSet'> {
  const isEmbedded = (v: string) => v === 'embedded' || v.startsWith('embedded:');
  const onlineEmbedded = isEmbedded(flags.online) ? flags.online : null;
  const offlineEmbedded = isEmbedded(flags.offline) ? flags.offline : null;
  const onlineUrl =
    flags.online === 'none' || onlineEmbedded !== null
      ? null
      : checkUrl(flags.online, ['redis:', 'rediss:'], '--online');
  let offlineUrl: string | null = null;
  let schema = flags.offlineSchema;
  if (flags.offline !== 'none' && offlineEmbedded === null) {
    const url = new URL(checkUrl(flags.offline, ['postgres:', 'postgresql:'], '--offline'));
    const fromUrl = url.searchParams.get('schema');
    url.searchParams.delete('schema');
    schema ??= fromUrl ?? undefined;
    offlineUrl = url.toString();
  }
  let authToken: string | undefined;
  if (flags.authTokenEnv !== undefined) {
    authToken = env[flags.authTokenEnv];
    if (authToken === undefined || authToken === '') {
      throw new ConfigError(
        `--auth-token-env: environment variable ${flags.authTokenEnv} is not set or empty`,
        { field: '--auth-token-env' },
      );
    }
  }
  const rollout: Record<string, RolloutArm[]> = {};
  for (const spec of flags.rollout ?? []) {
    const [group, arms] = parseRollout(spec);
    if (rollout[group] !== undefined) {
      throw new ConfigError(`--rollout: group ${group} given twice`, { field: '--rollout' });
    }
    rollout[group] = arms;
  }
  return {
    port: flags.port,
    host: flags.host,
    onlineUrl,
    onlineEmbedded,
    offlineEmbedded,
    offlineUrl,
    offlineSchema: schema ?? 'public',
    authToken,
    l1MaxBytes: flags.l1MaxBytes,
    l1TtlMs: flags.l1TtlMs,
    maxBatch: flags.maxBatch,
    keyPrefix: flags.keyPrefix,
    rollout,
    tls: listenTlsOf(flags.tlsCert, flags.tlsKey),
  };
}

/**
 * Parses `GROUP=VERSION:SHARE,VERSION:SHARE` (e.g. `perf_5min=1:0.9,2:0.1`). The shares are
 * validated when the server starts.
 *
 * @example
 * parseRollout('perf_5min=1:0.9,2:0.1'); // ['perf_5min', [{ version: 1, share: 0.9 }, { version: 2, share: 0.1 }]]
 */
export function parseRollout(spec: string): [string, RolloutArm[]] {
  const bad = () =>
    new ConfigError(`--rollout: expected GROUP=VERSION:SHARE[,VERSION:SHARE…], got "${spec}"`, {
      field: '--rollout',
    });
  const eq = spec.indexOf('=');
  if (eq <= 0) throw bad();
  const arms = spec
    .slice(eq + 1)
    .split(',')
    .map((part) => {
      const m = /^\s*(\d+)\s*:\s*([0-9.]+)\s*$/.exec(part);
      if (m === null) throw bad();
      return { version: Number(m[1]), share: Number(m[2]) };
    });
  return [spec.slice(0, eq).trim(), arms];
}

/**
 * Opens the stores, builds the server and listens. On failure everything opened is closed again.
 *
 * @example
 * const running = await startServe(config, pino());
 * await running.close();
 */
export async function startServe(config: ServeConfig, logger: Logger): Promise<RunningServer> {
  // Loaded here, not at the top: `featurestream --help` and other commands import this module
  // to register `serve` and should not pay for fastify, pg and the stores.
  const [
    { RedisOnlineStore },
    { openOnlineStore, parseOnlineSpec },
    { asQueryable, openSqlClient, parseOfflineSpec },
    { createServer },
    pg,
  ] = await Promise.all([
    import('../stores/online-redis.js'),
    import('../stores/online-store.js'),
    import('../stores/sql-client.js'),
    import('../serve/server.js'),
    import('pg').then((m) => m.default),
  ]);
  const set = config.featureSet;
  const ttlSecondsByGroup = set.ttlSecondsByGroup;
  // An embedded directory that holds no store fails here, naming it, rather than serving nulls.
  const noStore = (flag: string, dir: string) =>
    new ConfigError(
      `${flag}: no ${flag === '--online' ? 'online' : 'offline'} store in ${dir}: run \`featurestream run\` first (it writes .featurestream/default/), or give ${flag} URL or ${flag} none`,
      { field: flag },
    );
  if (config.onlineEmbedded !== null && config.onlineEmbedded !== undefined) {
    const spec = parseOnlineSpec(config.onlineEmbedded, '--online');
    if (spec.kind === 'embedded' && !existsSync(join(spec.dir, 'CURRENT')))
      throw noStore('--online', spec.dir);
  }
  if (config.offlineEmbedded !== null && config.offlineEmbedded !== undefined) {
    const spec = parseOfflineSpec(config.offlineEmbedded, '--offline');
    if (spec.kind === 'embedded' && !existsSync(spec.dir)) throw noStore('--offline', spec.dir);
  }
  // The embedded stores of a finished `run` (one opener at a time): LevelDB as L2 (no pub/sub;
  // L1 expires by TTL), PGlite as L3.
  const online =
    config.onlineEmbedded !== null && config.onlineEmbedded !== undefined
      ? await openOnlineStore(config.onlineEmbedded, { ttlSecondsByGroup, flag: '--online' })
      : config.onlineUrl === null
        ? null
        : new RedisOnlineStore({
            connection: config.onlineUrl,
            keyPrefix: config.keyPrefix,
            ttlSecondsByGroup,
          });
  const embeddedSql =
    config.offlineEmbedded !== null && config.offlineEmbedded !== undefined
      ? await openSqlClient(config.offlineEmbedded, { flag: '--offline' })
      : null;
  const pool =
    config.offlineUrl === null
      ? null
      : new pg.Pool({
          ...(await import('../stores/tls.js')).pgConnectionConfig(config.offlineUrl),
          application_name: 'featurestream-serve',
          max: 8,
        });
  pool?.on('error', (err) => logger.warn({ err }, 'offline store: idle connection lost'));
  const offline = embeddedSql !== null ? asQueryable(embeddedSql) : pool;
  const closeStores = async () => {
    await Promise.allSettled([online?.close(), pool?.end(), embeddedSql?.close()]);
  };
  if (embeddedSql !== null) {
    const table = `${config.offlineSchema}.feature_values`;
    const found = await embeddedSql
      .query<{ t: string | null }>('check', 'SELECT to_regclass($1)::text AS t', [table])
      .then(
        (r) => r.rows[0]?.t ?? null,
        () => null,
      );
    if (found === null) {
      await closeStores();
      throw noStore('--offline', embeddedSql.description.replace(/^embedded:/, ''));
    }
  }
  let app: FastifyInstance;
  try {
    app = await createServer({
      online,
      offline,
      offlineSchema: config.offlineSchema,
      redisUrl: config.onlineUrl,
      storeNames: {
        online: config.onlineEmbedded ?? (config.onlineUrl === null ? 'none' : redactUrl(config.onlineUrl)),
        offline:
          config.offlineEmbedded ?? (config.offlineUrl === null ? 'none' : redactUrl(config.offlineUrl)),
      },
      keyPrefix: config.keyPrefix,
      tls: config.tls ?? null,
      ...(config.authToken === undefined ? {} : { authToken: config.authToken }),
      l1: { maxBytes: config.l1MaxBytes, ttlMs: config.l1TtlMs },
      maxBatch: config.maxBatch,
      rollout: config.rollout,
      featureSet: set,
      logger,
      defaultMetrics: true,
    });
  } catch (err) {
    await closeStores();
    throw err;
  }
  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
    // fastify names the address http:// for a server it did not make itself.
    if (config.tls !== undefined && config.tls !== null) address = address.replace(/^http:/, 'https:');
  } catch (err) {
    await app.close();
    await closeStores();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new InUseError(
        `--port ${config.port}: ${config.host}:${config.port} is in use by another process: stop it or choose another --port`,
        { field: '--port', cause: err },
      );
    }
    throw new ConfigError(
      `--port/--host: cannot listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}`,
      { field: '--port', cause: err },
    );
  }
  // The write path of the embedded stores this process holds (src/stores/push.ts): a `replay`
  // writes a new version through it while the reads go on.
  let push: { close(): Promise<void> } | null = null;
  const onlineEmbedded =
    config.onlineEmbedded !== null && config.onlineEmbedded !== undefined ? online : null;
  if (onlineEmbedded !== null || embeddedSql !== null) {
    try {
      push = await startEmbeddedPush(config, onlineEmbedded, embeddedSql, logger, () => app.dropL1());
    } catch (err) {
      await app.close();
      await closeStores();
      throw err;
    }
  }
  let closing: Promise<void> | null = null;
  return {
    app,
    address,
    close() {
      closing ??= (async () => {
        await push?.close();
        await app.close();
        await closeStores();
      })();
      return closing;
    },
  };
}

/** Starts the push path over the embedded stores `serve` opened (see src/stores/push.ts). */
async function startEmbeddedPush(
  config: ServeConfig,
  online: import('../stores/online-store.js').OnlineStore | null,
  sql: import('../stores/sql-client.js').SqlClient | null,
  logger: Logger,
  onWritten: () => void,
): Promise<{ close(): Promise<void> }> {
  const [
    { startPushEndpoint },
    { sinksOverOpenStores },
    { OfflineStore },
    { parseOnlineSpec },
    { parseOfflineSpec },
  ] = await Promise.all([
    import('../stores/push.js'),
    import('../stores/sinks.js'),
    import('../stores/offline-postgres.js'),
    import('../stores/online-store.js'),
    import('../stores/sql-client.js'),
  ]);
  const dirs: string[] = [];
  if (online !== null && config.onlineEmbedded !== null && config.onlineEmbedded !== undefined) {
    const spec = parseOnlineSpec(config.onlineEmbedded, '--online');
    if (spec.kind === 'embedded') dirs.push(spec.dir);
  }
  if (sql !== null && config.offlineEmbedded !== null && config.offlineEmbedded !== undefined) {
    const spec = parseOfflineSpec(config.offlineEmbedded, '--offline');
    if (spec.kind === 'embedded') dirs.push(spec.dir);
  }
  const offline = sql === null ? null : new OfflineStore(sql);
  const endpoint = await startPushEndpoint({
    dirs,
    logger,
    // The reads' L1 may hold values (or misses) the push has just changed.
    onWritten,
    sinksFor: (topologyName, targets) =>
      sinksOverOpenStores({
        online: targets.includes('online') ? online : null,
        offline: targets.includes('offline') ? offline : null,
        topologyName,
        logger,
      }),
  });
  logger.info({ push: endpoint.url }, 'embedded stores: push path for writers (replay) on loopback');
  return endpoint;
}

/**
 * Adds `serve` to a commander program. The action runs until SIGTERM/SIGINT, then shuts down
 * gracefully (forced exit 1 if that takes longer than 10 s).
 *
 * @example
 * registerServeCommand(program); // featurestream serve --port 8080 --online redis://127.0.0.1:6379 --offline none
 */
export function registerServeCommand(program: Command): Command {
  return program
    .command('serve')
    .description(
      'Serve feature values over HTTP: L1 in-process cache → L2 online store (embedded LevelDB or Redis) → ' +
        'L3 offline store (embedded PGlite or PostgreSQL) (read-through), point-in-time reads, batch reads, ' +
        'the registry, Prometheus metrics. With no store flags it serves what `featurestream run` wrote.',
    )
    .addOption(
      new Option('--port <port>', 'TCP port (0 = any free port)').argParser(int('--port', 0)).default(8080),
    )
    .option('--host <host>', 'interface to listen on (0.0.0.0 for all)', '127.0.0.1')
    .option(
      '--online <url>',
      "L2: online store, embedded[:DIR] (a finished run's LevelDB store; embedded: .featurestream/default/online), redis://HOST:PORT[/DB], or none",
      'embedded',
    )
    .option(
      '--offline <url>',
      'L3: offline store, embedded[:DIR] (PGlite; embedded: .featurestream/default/offline), postgres://USER@HOST:PORT/DB[?schema=S], or none (no at= reads)',
      'embedded',
    )
    .option(
      '--offline-schema <schema>',
      'schema of feature_values (default: ?schema= of --offline, else public)',
    )
    .option(
      '--auth-token-env <VAR>',
      'require "Authorization: Bearer <token>" on /features and /registry, the token read from env VAR',
    )
    .addOption(
      new Option('--l1-max-bytes <n>', 'L1 cache size bound in bytes (0 disables L1)')
        .argParser(int('--l1-max-bytes', 0))
        .default(64 * 1024 * 1024),
    )
    .addOption(
      new Option('--l1-ttl-ms <ms>', 'L1 entry lifetime; entries are also invalidated over Redis pub/sub')
        .argParser(int('--l1-ttl-ms', 0))
        .default(30_000),
    )
    .addOption(
      new Option('--max-batch <n>', 'most requests in one POST /features/batch')
        .argParser(int('--max-batch', 1))
        .default(100),
    )
    .option('--key-prefix <prefix>', 'key prefix of the online store (must match the writer)', '')
    .option('--tls-cert <file>', 'listen with HTTPS: the server certificate (PEM), with --tls-key')
    .option('--tls-key <file>', 'the private key (PEM) of --tls-cert')
    .option(
      '--rollout <spec...>',
      'version rollout per group by stable hash of user_id, e.g. perf_5min=1:0.9,2:0.1 (repeatable)',
    )
    .option(
      '--topology <name|file>',
      'the topology whose features and groups are served: a shipped name or a .json/.yaml/.yml file',
      'llm-features',
    )
    .addOption(
      new Option('--plugin <module>', 'plugin module the --topology file uses (repeatable)').argParser(
        (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'log level (JSON logs on stderr)')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .addHelpText(
      'after',
      '\nEndpoints:\n' +
        '  GET  /features/:entity_type/:entity_id?features=PERF_001,latency_p95_5min[&version=N][&at=RFC3339][&user_id=U]\n' +
        '  POST /features/batch   {"requests":[{"entity_type","entity_id","features","version"?}]}\n' +
        '  GET  /registry/features, /registry/features/:id_or_name, /registry/groups\n' +
        '  GET  /metrics, /healthz, /readyz   (never behind the token)\n' +
        '\nExamples:\n' +
        '  featurestream serve          (after `featurestream run`: its embedded stores)\n' +
        '  featurestream serve --port 8080 --online redis://127.0.0.1:6379 \\\n' +
        '      --offline postgres://postgres@127.0.0.1:5432/test?schema=features\n' +
        '  FS_TOKEN=s3cret featurestream serve --auth-token-env FS_TOKEN --rollout perf_5min=1:0.9,2:0.1\n' +
        '  curl "localhost:8080/features/model/gpt-4?features=PERF_001,latency_p95_5min"\n' +
        '\nSIGTERM/SIGINT drain in-flight requests and exit 0. Exit codes: 0 stopped, 2 bad arguments, 1 failure.',
    )
    .action(async (flags: ServeFlags) => {
      const { openTopology } = await import('../../topology/index.js');
      const { featureSet } = await import('../registry/feature-set.js');
      const config = {
        ...resolveServeConfig(flags),
        featureSet: featureSet(await openTopology(flags.topology ?? 'llm-features', flags.plugin ?? [])),
      };
      const { pino } = await import('pino');
      const logger = pino({ name: 'featurestream-serve', level: flags.logLevel }, pino.destination(2));
      // Until it listens, a signal ends start-up with one line (exit 130/143; store locks are
      // released on exit); from then on it drains and exits 0.
      const startup = exitOnSignals('serve start-up', () => {}, 'nothing was served');
      const running = await startServe(config, logger).finally(startup);
      // The stop handlers before the address is printed (a reader may send Ctrl-C as soon as it
      // sees it): from here on a signal drains and exits 0.
      const stopped = new Promise<void>((resolve, reject) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'shutting down: draining in-flight requests');
          const force = setTimeout(() => {
            logger.error('shutdown took longer than 10 s; exiting');
            process.exit(1);
          }, 10_000);
          force.unref();
          running.close().then(() => {
            clearTimeout(force);
            logger.info('stopped');
            resolve();
          }, reject);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      logger.info(
        {
          address: running.address,
          online: await storeName('online', config.onlineEmbedded, config.onlineUrl),
          offline: await storeName('offline', config.offlineEmbedded, config.offlineUrl),
          l1MaxBytes: config.l1MaxBytes,
          l1TtlMs: config.l1TtlMs,
          auth: config.authToken !== undefined,
        },
        'serving',
      );
      process.stdout.write(`featurestream serve: listening on ${running.address}\n`);
      await stopped;
    });
}

function checkUrl(value: string, protocols: readonly string[], flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `${flag}: not a URL: "${redactUrlPasswords(value)}" (expected ${protocols[0]}//… or none)`,
      {
        field: flag,
      },
    );
  }
  if (!protocols.includes(url.protocol) || url.hostname === '') {
    throw new ConfigError(
      `${flag}: expected ${protocols[0]}//HOST… or none, got "${redactUrlPasswords(value)}"`,
      {
        field: flag,
      },
    );
  }
  return value;
}

/** A store as the start-up log names it: `embedded:/abs/dir`, the URL without password, or none. */
async function storeName(
  kind: 'online' | 'offline',
  embedded: string | null | undefined,
  url: string | null,
): Promise<string> {
  if (embedded !== null && embedded !== undefined) {
    const dir =
      kind === 'online'
        ? (await import('../stores/online-store.js')).parseOnlineSpec(embedded)
        : (await import('../stores/sql-client.js')).parseOfflineSpec(embedded);
    return dir.kind === 'embedded' ? `embedded:${dir.dir}` : embedded;
  }
  return url === null ? 'none' : redactUrl(url);
}

function redactUrl(value: string): string {
  const url = new URL(value);
  if (url.password !== '') url.password = '***';
  return url.toString();
}
