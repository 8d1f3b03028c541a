import { isConnectionRefused } from './connection-refused.js';
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { FeatureRow } from '../../operators/operator.js';
import { redactUrlPasswords, tlsProblem } from '../shared/connections.js';
import { ConfigError, ExternalError } from '../shared/errors.js';
import { redisTlsOptions } from './tls.js';
import type { OnlineKey, OnlineStore, OnlineValue } from './online-store.js';

export type { OnlineValue } from './online-store.js';

/** The channel {@link RedisOnlineStore.writeRows} publishes written keys on (newline-separated). */
export const INVALIDATE_CHANNEL = 'featurestream:invalidate';

export interface RedisOnlineStoreOptions {
  /** A `redis://` URL or ioredis connection options. Default `redis://127.0.0.1:6379`. */
  readonly connection?: string | RedisOptions;
  /** Prepended to every key (tests use a unique one). Default ''. */
  readonly keyPrefix?: string;
  /** TTL in seconds per feature group; groups not listed use `defaultTtlSeconds`. */
  readonly ttlSecondsByGroup?: Readonly<Record<string, number>>;
  /** Default 86 400 (24 h). */
  readonly defaultTtlSeconds?: number;
  /** How long `writeRows` keeps retrying through an outage before it throws. Default 60 000 ms. */
  readonly retryDeadlineMs?: number;
  /** Rows per pipeline round trip. Default 500. */
  readonly pipelineSize?: number;
  /** Clock for `_computed_at`. Default `Date.now`. */
  readonly now?: () => number;
  /** Called before each retry of a write (for logging). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
  /** Pub/sub channel for written keys. Default {@link INVALIDATE_CHANNEL}; null publishes nothing. */
  readonly invalidateChannel?: string | null;
}

/**
 * Newer-wins write of one hash. KEYS[1] = key; ARGV = eventTime, revision, computedAt, ttlSeconds,
 * provisional ('1' or '0'), then field/value pairs. A row older than the stored one, or with the
 * same event time and a revision that is not higher, is ignored (returns 0) and leaves the TTL
 * alone, so a replay never moves a value back in time nor keeps stale data alive — except that a
 * stored provisional row (an early firing) is replaced by any row of the same event time and
 * revision. An applied row replaces the whole hash, so features are never mixed across rows.
 */
const WRITE_SCRIPT = `
local cur = redis.call('HMGET', KEYS[1], '_event_time', '_revision', '_provisional')
local et = tonumber(ARGV[1])
local rev = tonumber(ARGV[2])
if cur[1] then
  local cet = tonumber(cur[1])
  local crev = tonumber(cur[2]) or 0
  if et < cet then return 0 end
  if et == cet and (rev < crev or (rev == crev and cur[3] ~= '1')) then return 0 end
end
redis.call('DEL', KEYS[1])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], '_event_time', ARGV[1], '_revision', ARGV[2], '_computed_at', ARGV[3], '_provisional', '1', unpack(ARGV, 6))
else
  redis.call('HSET', KEYS[1], '_event_time', ARGV[1], '_revision', ARGV[2], '_computed_at', ARGV[3], unpack(ARGV, 6))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
`;
const WRITE_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

/** Stored for a null feature value, so "present but null" differs from "not a feature of this row". */
export const NULL_MARKER = '';

const META_FIELDS = new Set(['_event_time', '_revision', '_computed_at', '_provisional']);

/**
 * The online store: one Redis hash per (entity, group, version) at
 * `{prefix}feature:{entity_type}:{entity_id}:{group}:v{version}`, fields = feature names (numbers
 * as strings; null stored as the empty string {@link NULL_MARKER}) plus `_event_time`,
 * `_revision` and `_computed_at` (ms since the epoch).
 *
 * Writes are pipelined `EVALSHA` calls of a newer-wins Lua script (loaded on `NOSCRIPT`). Each
 * applied write refreshes the group's TTL. When Redis is unreachable, `writeRows` retries the rows
 * not yet written with exponential backoff (it never drops rows) until `retryDeadlineMs`, then
 * throws {@link ExternalError} — the caller's backpressure. After each `writeRows` the keys it
 * wrote are published, newline-separated, in one message on {@link INVALIDATE_CHANNEL} (for the
 * serving API's in-process cache). `flush()` has nothing to do: a write is acknowledged by the
 * server, and its durability is the server's persistence setting.
 *
 * @example
 * const store = new RedisOnlineStore({ connection: 'redis://127.0.0.1:6379', ttlSecondsByGroup: { perf_5min: 3600 } });
 * await store.writeRows(rows);
 * const v = await store.read('model', 'gpt-4', 'perf_5min', 1); // { values: { latency_p95_5min: 812 }, ... } | null
 * await store.close();
 */
export class RedisOnlineStore implements OnlineStore {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private readonly keyPrefix: string;
  private readonly ttlByGroup: Readonly<Record<string, number>>;
  private readonly defaultTtl: number;
  private readonly deadlineMs: number;
  private readonly pipelineSize: number;
  private readonly now: () => number;
  private readonly onRetry: ((err: unknown, attempt: number) => void) | undefined;
  private readonly channel: string | null;
  private lastError: unknown = null;
  private everReady = false;
  /** The URL without its password, for errors. */
  private readonly endpoint: string;
  /** Connection attempts ioredis has made (each `connecting`), for tests and diagnostics. */
  private attempts = 0;
  /** The server's URL with any password masked, for messages. */
  readonly url: string;

  constructor(options: RedisOnlineStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? '';
    this.ttlByGroup = options.ttlSecondsByGroup ?? {};
    this.defaultTtl = options.defaultTtlSeconds ?? 86_400;
    this.deadlineMs = options.retryDeadlineMs ?? 60_000;
    this.pipelineSize = options.pipelineSize ?? 500;
    this.now = options.now ?? Date.now;
    this.onRetry = options.onRetry;
    this.channel = options.invalidateChannel === undefined ? INVALIDATE_CHANNEL : options.invalidateChannel;
    checkPositiveInt(this.defaultTtl, 'defaultTtlSeconds');
    for (const [group, ttl] of Object.entries(this.ttlByGroup))
      checkPositiveInt(ttl, `ttlSecondsByGroup.${group}`);
    checkPositiveInt(this.pipelineSize, 'pipelineSize');
    if (!(this.deadlineMs >= 0)) {
      throw new ConfigError(`\`retryDeadlineMs\` must be ≥ 0, got ${this.deadlineMs}`, {
        field: 'retryDeadlineMs',
      });
    }
    // Commands fail fast while disconnected (no offline queue); our own loop does the retrying,
    // so a row is either written or reported, never silently queued past the deadline.
    const base: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(50 * times, 500),
    };
    const conn = options.connection ?? 'redis://127.0.0.1:6379';
    // TLS for rediss:// with the process's --online-ca/-cert/-key (src/stores/tls.ts).
    this.endpoint =
      typeof conn === 'string'
        ? redactUrlPasswords(conn)
        : `${conn.host ?? '127.0.0.1'}:${conn.port ?? 6379}`;
    this.client =
      typeof conn === 'string'
        ? new Redis(conn, { ...base, ...redisTlsOptions(conn) })
        : new Redis({ ...base, ...conn });
    this.client.on('error', (err: unknown) => {
      this.lastError = err;
    });
    this.client.once('ready', () => {
      this.everReady = true;
    });
    this.client.on('connecting', () => {
      this.attempts++;
    });
    this.url =
      typeof conn === 'string'
        ? maskPassword(conn)
        : `redis://${conn.host ?? '127.0.0.1'}:${conn.port ?? 6379}${conn.db === undefined ? '' : `/${conn.db}`}`;
  }

  /** How many connections ioredis has tried so far (the first included). */
  get connectAttempts(): number {
    return this.attempts;
  }

  /** The hash key of one (entity, group, version). */
  key(entityType: string, entityId: string, group: string, version: number): string {
    return `${this.keyPrefix}feature:${entityType}:${entityId}:${group}:v${version}`;
  }

  /**
   * Writes rows newer-wins, pipelined. Resolves once every row has been applied or ignored as
   * older; throws {@link ExternalError} if Redis stays unreachable past the retry deadline.
   *
   * @example
   * await store.writeRows([{ group: 'perf_5min', entityType: 'model', entityId: 'gpt-4', version: 1,
   *   windowStart: 0, windowEnd: 300_000, eventTime: 299_999, revision: 0, values: { n: 3 } }]);
   */
  async writeRows(rows: readonly FeatureRow[]): Promise<void> {
    if (rows.length === 0) return;
    const computedAt = String(this.now());
    let pending = rows.map((row) => this.scriptArgs(row, computedAt));
    // Keys applied, or whose outcome is unknown (an error after the script may have run).
    const written = new Set<string>();
    let published = this.channel === null;
    const deadline = Date.now() + this.deadlineMs;
    let delay = 50;
    for (let attempt = 1; ; attempt++) {
      const failed: string[][] = [];
      let lastErr: unknown = null;
      for (let i = 0; i < pending.length; i += this.pipelineSize) {
        const chunk = pending.slice(i, i + this.pipelineSize);
        const results = await this.runChunk(chunk);
        for (let j = 0; j < chunk.length; j++) {
          const r = results[j]!;
          if (r.err != null) {
            failed.push(chunk[j]!);
            written.add(chunk[j]![0]!);
            lastErr = r.err;
          } else if (r.applied) {
            written.add(chunk[j]![0]!);
          }
        }
      }
      pending = failed;
      if (pending.length === 0 && !published) {
        if (written.size === 0) published = true;
        else {
          try {
            await this.client.publish(this.channel!, [...written].join('\n'));
            published = true;
          } catch (err) {
            lastErr = err;
          }
        }
      }
      if (pending.length === 0 && published) return;
      if (Date.now() + delay > deadline) {
        throw new ExternalError(
          pending.length > 0
            ? `Redis online store: ${pending.length} of ${rows.length} rows not written within ${this.deadlineMs} ms: ${describe(lastErr ?? this.lastError)}`
            : `Redis online store: rows written but their invalidation not published within ${this.deadlineMs} ms: ${describe(lastErr ?? this.lastError)}`,
          { cause: lastErr ?? this.lastError },
        );
      }
      this.onRetry?.(lastErr ?? this.lastError, attempt);
      await sleep(delay + Math.floor(Math.random() * delay * 0.2));
      delay = Math.min(delay * 2, 2_000);
    }
  }

  /**
   * Reads one feature vector, or null when it is missing or expired.
   *
   * @example
   * const v = await store.read('model', 'gpt-4', 'perf_5min', 1);
   * if (v) console.log(v.values.latency_p95_5min, v.computedAt);
   */
  async read(
    entityType: string,
    entityId: string,
    group: string,
    version: number,
  ): Promise<OnlineValue | null> {
    await this.firstConnection();
    let hash: Record<string, string>;
    try {
      hash = await this.client.hgetall(this.key(entityType, entityId, group, version));
    } catch (err) {
      throw new ExternalError(`Redis online store: read failed: ${describe(err)}`, { cause: err });
    }
    return parseHash(hash);
  }

  /**
   * Reads several vectors in one pipelined round trip, in the order asked (null = missing or
   * expired).
   *
   * @example
   * const [a, b] = await store.readMany([
   *   { entityType: 'model', entityId: 'gpt-4', group: 'perf_5min', version: 1 },
   *   { entityType: 'model', entityId: 'gpt-4', group: 'perf_1hr', version: 1 },
   * ]);
   */
  async readMany(keys: readonly OnlineKey[]): Promise<Array<OnlineValue | null>> {
    if (keys.length === 0) return [];
    await this.firstConnection();
    let out: Array<[Error | null, unknown]> | null;
    try {
      const pipeline = this.client.pipeline();
      for (const k of keys) pipeline.hgetall(this.key(k.entityType, k.entityId, k.group, k.version));
      out = await pipeline.exec();
    } catch (err) {
      throw new ExternalError(`Redis online store: read failed: ${describe(err)}`, { cause: err });
    }
    if (out === null) throw new ExternalError('Redis online store: read failed: pipeline aborted');
    return out.map(([err, hash]) => {
      if (err !== null)
        throw new ExternalError(`Redis online store: read failed: ${err.message}`, { cause: err });
      return parseHash(hash as Record<string, string>);
    });
  }

  /**
   * Waits until Redis answers PING, up to `timeoutMs`; then throws {@link ExternalError} naming
   * `flag` (a start-up check: a wrong host fails the run at once instead of blocking its writes).
   *
   * @example
   * await store.waitReady(15_000, '--online');
   */
  async waitReady(
    timeoutMs: number,
    flag = 'online store',
    options: {
      /** Told every few seconds while it waits (a line for the log). */
      onWaiting?: (message: string) => void;
      /**
       * A refused connection fails at once, without retrying, and stops the client (a command's
       * start-up check; a long-lived reader such as `serve` keeps retrying instead).
       */
      refusedIsFinal?: boolean;
    } = {},
  ): Promise<void> {
    const { onWaiting, refusedIsFinal = false } = options;
    const start = Date.now();
    const deadline = start + timeoutMs;
    // A line every few seconds while it waits (at least two before the deadline).
    const noticeEvery = Math.max(250, Math.min(5_000, Math.floor(timeoutMs / 4)));
    const maxDelay = Math.min(1_000, Math.floor(noticeEvery / 2));
    let lastNotice = start;
    let delay = 50;
    for (;;) {
      // The first attempt's outcome (connected, refused, …) before the first PING: a refused
      // connection is known at once and must not be retried.
      await this.firstAttemptSettled(deadline);
      try {
        await this.client.ping();
        return;
      } catch (err) {
        // A certificate problem does not go away by waiting: fail at once, naming the endpoint.
        const tls = tlsProblem(this.lastError);
        if (tls !== null) {
          throw new ExternalError(`${flag}: Redis at ${this.endpoint}: ${tls}`, {
            cause: this.lastError,
            retryable: false,
          });
        }
        // Nor does a wrong password.
        const refused = [err, this.lastError].find(
          (e) => e instanceof Error && /^(WRONGPASS|NOAUTH)\b/.test(e.message),
        );
        if (refused !== undefined) {
          throw new ExternalError(
            `${flag}: Redis at ${this.endpoint}: authentication failed (${(refused as Error).message})`,
            {
              cause: refused,
              retryable: false,
            },
          );
        }
        const cause = this.lastError ?? err;
        if (refusedIsFinal && !this.everReady && isConnectionRefused(cause)) {
          // Nothing listens there: waiting will not change that. Stop ioredis' own retries too.
          this.client.disconnect();
          throw new ExternalError(
            `${flag} ${this.url}: connection refused (${describe(cause)}): no Redis listens there; ` +
              'is it running, and are the host and port right?',
            { cause, retryable: false },
          );
        }
        const why =
          this.client.status === 'connect' ? 'connected, but no answer to the handshake' : describe(cause);
        if (onWaiting !== undefined && Date.now() - lastNotice >= noticeEvery) {
          lastNotice = Date.now();
          onWaiting(
            `still waiting for ${flag} ${this.url}: ${why}; retrying for up to ${Math.round(timeoutMs / 1000)} s`,
          );
        }
        if (Date.now() + delay > deadline) {
          throw new ExternalError(
            `${flag} ${this.url}: Redis not reachable within ${timeoutMs} ms (${why}): check the host and ` +
              'port, that it is Redis that listens there (not another service, not TLS-only), and any ' +
              'firewall between; FEATURESTREAM_RETRY_DEADLINE_MS sets the wait',
            { cause },
          );
        }
        await sleep(delay);
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }

  /** Resolves once the first connection attempt has connected or failed (or at `deadline`). */
  private async firstAttemptSettled(deadline: number): Promise<void> {
    const status = this.client.status;
    if (this.everReady || this.lastError !== null || (status !== 'wait' && status !== 'connecting')) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', done);
        this.client.off('error', done);
        this.client.off('connect', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.client.once('ready', done);
      this.client.once('error', done);
      this.client.once('connect', done);
    });
  }

  /**
   * A read right after construction waits for the first connection (up to 2 s) instead of
   * failing; later, while Redis is down, reads fail at once (commands are not queued).
   */
  private async firstConnection(): Promise<void> {
    if (this.everReady || this.client.status === 'ready') return;
    await this.waitReady(2_000, 'Redis online store');
  }

  /** Nothing to do: the server acknowledged every write (its persistence setting decides the rest). */
  async flush(): Promise<void> {}

  /** Closes the connection. */
  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.client.disconnect();
  }

  private scriptArgs(row: FeatureRow, computedAt: string): string[] {
    const ttl = this.ttlByGroup[row.group] ?? this.defaultTtl;
    const args = [
      this.key(row.entityType, row.entityId, row.group, row.version),
      String(row.eventTime),
      String(row.revision),
      computedAt,
      String(ttl),
      row.provisional === true ? '1' : '0',
    ];
    for (const [name, value] of Object.entries(row.values)) {
      args.push(name, value === null ? NULL_MARKER : String(value));
    }
    return args;
  }

  /** Runs one pipeline of script calls; per row an error (null = done) and whether it applied. */
  private async runChunk(chunk: readonly string[][]): Promise<Array<{ err: unknown; applied: boolean }>> {
    let results = await this.execPipeline(chunk);
    if (results.some((r) => isNoScript(r.err))) {
      // A restarted or flushed Redis lost its script cache: load once and re-run those rows.
      try {
        await this.client.script('LOAD', WRITE_SCRIPT);
      } catch (err) {
        return chunk.map(() => ({ err, applied: false }));
      }
      const again = chunk.filter((_, i) => isNoScript(results[i]!.err));
      const retried = await this.execPipeline(again);
      let k = 0;
      results = results.map((r) => (isNoScript(r.err) ? retried[k++]! : r));
    }
    return results;
  }

  private async execPipeline(chunk: readonly string[][]): Promise<Array<{ err: unknown; applied: boolean }>> {
    try {
      const pipeline = this.client.pipeline();
      for (const [key, ...argv] of chunk) pipeline.evalsha(WRITE_SHA, 1, key!, ...argv);
      const out = await pipeline.exec();
      if (out === null) return chunk.map(() => ({ err: new Error('pipeline aborted'), applied: false }));
      return out.map(([err, res]) => ({ err: err ?? null, applied: res === 1 }));
    } catch (err) {
      return chunk.map(() => ({ err, applied: false }));
    }
  }
}

function parseHash(hash: Record<string, string>): OnlineValue | null {
  if (hash._event_time === undefined) return null;
  const values: Record<string, number | null> = {};
  for (const [field, raw] of Object.entries(hash)) {
    if (META_FIELDS.has(field)) continue;
    values[field] = raw === NULL_MARKER ? null : Number(raw);
  }
  return {
    values,
    eventTime: Number(hash._event_time),
    revision: Number(hash._revision ?? 0),
    computedAt: Number(hash._computed_at ?? 0),
  };
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

function checkPositiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`\`${field}\` must be a positive integer, got ${value}`, { field });
  }
}

/** A redis:// URL with its password (if any) replaced by `***`. */
function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
