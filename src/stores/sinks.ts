import type { Logger } from 'pino';
import type { FeatureRow } from '../../operators/operator.js';
import type { FeatureSet } from '../registry/feature-set.js';
import { registerGroupVersion } from '../registry/versions.js';
import { syncRegistry } from '../registry/registry.js';
import type { DeadLetterRecord, LateRecord, RowSink } from '../runtime/sink.js';
import { ExternalError, FeaturestreamError } from '../shared/errors.js';
import { OfflineStore } from './offline-postgres.js';
import { RedisOnlineStore } from './online-redis.js';
import { type OnlineStore, openOnlineStore, parseOnlineSpec } from './online-store.js';
import { type OfflineSpec, openSqlClient, parseOfflineSpec, type SqlClientOptions } from './sql-client.js';

/** Options of {@link createStoreSinks}. */
export interface StoreSinkOptions {
  /** `--online`: `redis://HOST:PORT[/DB]`, `embedded` or `embedded:DIR`. */
  readonly online?: string;
  /** `--offline`: `postgres://USER@HOST:PORT/DB[?schema=S]`, `embedded` or `embedded:DIR`. */
  readonly offline?: string;
  /** Recorded as the writer of each (group, version) in `feature_group_versions`. */
  readonly topologyName: string;
  readonly logger: Logger;
  /**
   * How long a write keeps retrying through an outage before the run fails. Default Infinity:
   * the sink blocks (backpressure) until the store is back, and never drops a row.
   */
  readonly retryDeadlineMs?: number;
  /** How long to wait for each store at start before failing. Default 15 000 ms. */
  readonly startTimeoutMs?: number;
  /** The run topology's features and groups: TTLs of the online store, entries of the feature registry. */
  readonly featureSet: FeatureSet;
  /** Sync the feature registry from the topology's features at start (offline store). Default true. */
  readonly syncRegistry?: boolean;
  /** Redis key prefix (tests). Default ''. */
  readonly keyPrefix?: string;
  /** PostgreSQL `application_name` (unless the URL sets one). Default `featurestream`. */
  readonly applicationName?: string;
  /**
   * An embedded offline store starts from an empty schema (see {@link SqlClientOptions.emptySchema}):
   * the embedded default run's fresh stores. Ignored for PostgreSQL servers.
   */
  readonly emptyEmbeddedOffline?: boolean;
}

/**
 * The run's store sinks, for the coordinator to drive ({@link RowSink}): an online sink (feature
 * rows → Redis or the embedded LevelDB store) and an offline sink (feature rows, dead letters and
 * late events → PostgreSQL or the embedded PGlite engine), for whichever of `online` / `offline`
 * is given.
 *
 * At start: both values are parsed first — a bad one is a {@link ConfigError} naming `--online` /
 * `--offline` before anything is opened; each store is then reached within `startTimeoutMs`
 * (else {@link ExternalError} naming the flag); the offline store is migrated and the feature
 * registry synced from the catalog.
 *
 * Exactly once: every write is idempotent under replay (rows by their unique key — the same
 * revision is a no-op, a higher one replaces; dead letters by (source, position); late events by
 * (source, position, window)), so re-emitting after a restart from a checkpoint changes nothing.
 * `flush()` resolves when everything written is durable: offline writes are committed
 * transactions when `write*` resolves; the embedded online store fsyncs; Redis has acknowledged.
 *
 * Outages: writes block and retry with backoff (warnings logged), for `retryDeadlineMs`.
 *
 * @example
 * const sinks = await createStoreSinks({ online: 'redis://127.0.0.1:6379', offline: 'embedded',
 *   topologyName: 'llm-features', logger });
 * for (const s of sinks) await s.write(rows);
 * for (const s of sinks) await s.flush();
 * for (const s of sinks) await s.close();
 */
export async function createStoreSinks(opts: StoreSinkOptions): Promise<RowSink[]> {
  const onlineSpec = opts.online === undefined ? undefined : parseOnlineSpec(opts.online, '--online');
  const offlineSpec = opts.offline === undefined ? undefined : parseOfflineSpec(opts.offline, '--offline');
  const deadline = opts.retryDeadlineMs ?? Number.POSITIVE_INFINITY;
  // FEATURESTREAM_RETRY_DEADLINE_MS: how long an unreachable store is waited for (default 15 s).
  const startTimeout = opts.startTimeoutMs ?? (Number(process.env.FEATURESTREAM_RETRY_DEADLINE_MS) || 15_000);
  const sinks: RowSink[] = [];
  const set = opts.featureSet;
  try {
    if (onlineSpec !== undefined) {
      const name = `online:${onlineSpec.kind}`;
      const store = await openOnlineStore(onlineSpec, {
        ttlSecondsByGroup: set.ttlSecondsByGroup,
        retryDeadlineMs: deadline,
        onRetry: retryLogger(opts.logger, name),
        ...(opts.keyPrefix === undefined ? {} : { keyPrefix: opts.keyPrefix }),
      });
      sinks.push(new OnlineSink(name, store));
      if (store instanceof RedisOnlineStore) {
        await store.waitReady(startTimeout, '--online', {
          refusedIsFinal: true,
          onWaiting: (message) => opts.logger.warn({ sink: name }, message),
        });
      }
      opts.logger.info({ sink: name }, 'online store ready');
    }
    if (offlineSpec !== undefined) {
      const name = `offline:${offlineSpec.kind}`;
      const store = await openOfflineForRun(offlineSpec, opts, deadline, startTimeout, name);
      sinks.push(new OfflineSink(name, store, opts.topologyName, opts.logger));
      if (opts.syncRegistry ?? true) {
        const r = await syncRegistry(store.client, set.features);
        opts.logger.info(
          {
            sink: name,
            added: r.added.length,
            changed: r.changed,
            deactivated: r.deactivated,
            reactivated: r.reactivated,
          },
          'feature registry synced',
        );
      }
    }
  } catch (err) {
    for (const s of sinks) await s.close().catch(() => {});
    throw err;
  }
  return sinks;
}

/** Migrates with a start deadline, then opens the long-lived store with the run's deadline. */
async function openOfflineForRun(
  spec: OfflineSpec,
  opts: StoreSinkOptions,
  deadline: number,
  startTimeout: number,
  name: string,
): Promise<OfflineStore> {
  const clientOptions = {
    onRetry: retryLogger(opts.logger, name),
    ...(opts.applicationName === undefined ? {} : { applicationName: opts.applicationName }),
  };
  if (spec.kind === 'postgres') {
    const probe = new OfflineStore(
      // A refused connection fails at once (nothing listens there); an unreachable server is
      // retried until the start deadline.
      await openSqlClient(spec, {
        ...clientOptions,
        retryDeadlineMs: startTimeout,
        refusedIsFinal: true,
        onWaiting: (message) => opts.logger.warn({ sink: name }, message),
      }),
    );
    try {
      await probe.migrate();
    } catch (err) {
      // Ours, or an error that already names the flag (a refused connection): as it is.
      if (err instanceof FeaturestreamError && (err.domain !== 'external' || err.field === '--offline'))
        throw err;
      throw new ExternalError(`--offline: ${describe(err)}`, { cause: err });
    } finally {
      await probe.close();
    }
    return new OfflineStore(await openSqlClient(spec, { ...clientOptions, retryDeadlineMs: deadline }));
  }
  const store = new OfflineStore(
    await openSqlClient(spec, {
      ...clientOptions,
      ...(opts.emptyEmbeddedOffline === true ? { emptySchema: true } : {}),
    }),
  );
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

class OnlineSink implements RowSink {
  constructor(
    readonly name: string,
    private readonly store: OnlineStore,
  ) {}

  write(rows: readonly FeatureRow[]): Promise<void> {
    return this.store.writeRows(rows);
  }

  flush(): Promise<void> {
    return this.store.flush();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

class OfflineSink implements RowSink {
  private readonly registered = new Set<string>();

  constructor(
    readonly name: string,
    private readonly store: OfflineStore,
    private readonly topology: string,
    private readonly logger: Logger,
  ) {}

  async write(rows: readonly FeatureRow[]): Promise<void> {
    for (const row of rows) {
      const key = `${row.group}\u0000${row.version}`;
      if (this.registered.has(key)) continue;
      const v = await registerGroupVersion(this.store.client, {
        group: row.group,
        version: row.version,
        topology: this.topology,
      });
      if (v.topology !== this.topology) {
        this.logger.warn(
          { sink: this.name, group: row.group, version: row.version, registeredBy: v.topology },
          'group version was registered by another topology',
        );
      }
      this.registered.add(key);
    }
    await this.store.writeRows(rows);
  }

  writeDeadLetters(entries: readonly DeadLetterRecord[]): Promise<void> {
    return this.store.writeDeadLetters(entries);
  }

  writeLate(entries: readonly LateRecord[]): Promise<void> {
    return this.store.writeLateEvents(entries);
  }

  /** Store operations retried after a lost connection (read by the run's metrics). */
  get retries(): number {
    return this.store.retries;
  }

  /** Every `write*` is a committed transaction when it resolves: nothing is pending here. */
  async flush(): Promise<void> {}

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Logs the 1st, 2nd, 4th, 8th… retry of an operation, so an outage is visible but not noisy. */
function retryLogger(logger: Logger, sink: string): (err: unknown, attempt: number, what?: string) => void {
  return (err, attempt, what) => {
    if ((attempt & (attempt - 1)) !== 0) return;
    logger.warn(
      { sink, attempt, op: what, err: describe(err) },
      'store unreachable; retrying (rows are kept)',
    );
  };
}

function describe(err: unknown): string {
  if (err instanceof FeaturestreamError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** A sink over a store another part of the process opened and closes: `close()` leaves it open. */
class BorrowedSink implements RowSink {
  constructor(private readonly inner: RowSink) {}

  get name(): string {
    return this.inner.name;
  }

  write(rows: readonly FeatureRow[]): Promise<void> {
    return this.inner.write(rows);
  }

  async writeDeadLetters(entries: readonly DeadLetterRecord[]): Promise<void> {
    await this.inner.writeDeadLetters?.(entries);
  }

  async writeLate(entries: readonly LateRecord[]): Promise<void> {
    await this.inner.writeLate?.(entries);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  async close(): Promise<void> {}
}

/**
 * Sinks over stores that are already open — a running `serve`'s embedded stores, written through
 * its push path (src/stores/push.ts) — with the run sinks' writes: rows newer-wins online; rows
 * and the (group, version) registration offline, recorded as written by `topologyName`. Closing
 * them leaves the stores open (their owner closes them).
 *
 * @example
 * const sinks = sinksOverOpenStores({ online, offline: new OfflineStore(sql), topologyName: 'llm-perf', logger });
 */
export function sinksOverOpenStores(opts: {
  readonly online: OnlineStore | null;
  readonly offline: OfflineStore | null;
  readonly topologyName: string;
  readonly logger: Logger;
}): RowSink[] {
  const sinks: RowSink[] = [];
  if (opts.online !== null) sinks.push(new BorrowedSink(new OnlineSink('online:embedded', opts.online)));
  if (opts.offline !== null)
    sinks.push(
      new BorrowedSink(new OfflineSink('offline:embedded', opts.offline, opts.topologyName, opts.logger)),
    );
  return sinks;
}
