import { resolve } from 'node:path';
import { redactUrlPasswords } from '../shared/connections.js';
import type { FeatureRow } from '../../operators/operator.js';
import { ConfigError } from '../shared/errors.js';
import { EmbeddedOnlineStore } from './online-leveldb.js';
import { RedisOnlineStore } from './online-redis.js';

/** One stored feature vector as read back from an online store. */
export interface OnlineValue {
  /** Feature name → value; a feature that was null when written reads back as null. */
  readonly values: Record<string, number | null>;
  /** The row's event time (ms since the epoch): `windowEnd - 1` for windows. */
  readonly eventTime: number;
  readonly revision: number;
  /** When the store wrote it (ms since the epoch). */
  readonly computedAt: number;
}

/** The address of one stored vector: (entity, group, version). */
export interface OnlineKey {
  readonly entityType: string;
  readonly entityId: string;
  readonly group: string;
  readonly version: number;
}

/**
 * The online store's read/write interface, implemented on Redis ({@link RedisOnlineStore}) and
 * embedded in a directory ({@link EmbeddedOnlineStore}) with the same rules:
 *
 * - one vector per (entity, group, version); a row replaces the whole vector;
 * - newer wins: a row whose event time is older than the stored one is ignored, and at the same
 *   event time only a higher revision replaces (or any final row a provisional one) — so replays
 *   and retries never move a value back in time; within a batch the order does not matter;
 * - TTL per group, refreshed by every applied write; an expired vector reads as missing.
 *
 * @example
 * const store = await openOnlineStore('redis://127.0.0.1:6379');
 * await store.writeRows(rows);
 * await store.read('model', 'gpt-4', 'perf_5min', 1); // OnlineValue | null
 */
export interface OnlineStore {
  readonly kind: 'redis' | 'embedded';
  /** Applies rows newer-wins; blocks and retries through outages (bounded by the retry deadline). */
  writeRows(rows: readonly FeatureRow[]): Promise<void>;
  /** One vector, or null when missing or expired. */
  read(entityType: string, entityId: string, group: string, version: number): Promise<OnlineValue | null>;
  /** Several vectors in one round trip, in the order asked. */
  readMany(keys: readonly OnlineKey[]): Promise<Array<OnlineValue | null>>;
  /** Everything written so far is durable when this resolves. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A parsed `--online` value. */
export type OnlineSpec =
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'embedded'; readonly dir: string };

/** Where `--online embedded` keeps its data. */
export const DEFAULT_EMBEDDED_ONLINE_DIR = '.featurestream/default/online';

/**
 * Parses an online-store location: `redis://…` / `rediss://…`, `embedded` (LevelDB in
 * {@link DEFAULT_EMBEDDED_ONLINE_DIR}) or `embedded:DIR`. Anything else is a {@link ConfigError}
 * naming the flag.
 *
 * @example
 * parseOnlineSpec('redis://127.0.0.1:6379/0'); // { kind: 'redis', url: 'redis://127.0.0.1:6379/0' }
 * parseOnlineSpec('embedded:/tmp/online');   // { kind: 'embedded', dir: '/tmp/online' }
 */
export function parseOnlineSpec(spec: string, flag = '--online'): OnlineSpec {
  if (spec === 'embedded' || spec.startsWith('embedded:')) {
    const dir = spec === 'embedded' ? DEFAULT_EMBEDDED_ONLINE_DIR : spec.slice('embedded:'.length);
    if (dir === '') throw new ConfigError(`${flag}: \`embedded:\` needs a directory`, { field: flag });
    return { kind: 'embedded', dir: resolve(dir) };
  }
  if (/^rediss?:\/\//.test(spec)) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new ConfigError(`${flag}: not a valid Redis URL: "${redactUrlPasswords(spec)}"`, { field: flag });
    }
    if (url.hostname === '')
      throw new ConfigError(`${flag}: the Redis URL has no host: "${redactUrlPasswords(spec)}"`, {
        field: flag,
      });
    if (url.port !== '' && !(Number(url.port) > 0 && Number(url.port) < 65_536)) {
      throw new ConfigError(`${flag}: bad port in "${redactUrlPasswords(spec)}"`, { field: flag });
    }
    const db = url.pathname.replace(/^\//, '');
    if (db !== '' && !/^\d+$/.test(db)) {
      throw new ConfigError(`${flag}: the Redis database must be a number, got "/${db}"`, { field: flag });
    }
    return { kind: 'redis', url: spec };
  }
  throw new ConfigError(
    `${flag}: expected redis://HOST:PORT[/DB], embedded or embedded:DIR, got "${redactUrlPasswords(spec)}"`,
    {
      field: flag,
    },
  );
}

/** Options for {@link openOnlineStore}. */
export interface OpenOnlineStoreOptions {
  /** TTL in seconds per feature group; others use `defaultTtlSeconds`. */
  readonly ttlSecondsByGroup?: Readonly<Record<string, number>>;
  /** Default 86 400 (24 h). */
  readonly defaultTtlSeconds?: number;
  /** How long a write retries through an outage before it throws. Default 60 000 ms; may be Infinity. */
  readonly retryDeadlineMs?: number;
  /** Redis: prepended to every key (tests). */
  readonly keyPrefix?: string;
  /** Called before each retry of a write (for logging). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
  /** The flag named in errors. Default `--online`. */
  readonly flag?: string;
}

/**
 * Opens an online store from an `--online` value (see {@link parseOnlineSpec}). The embedded
 * store takes its directory's LevelDB lock: one opener at a time (a `serve` process can open it
 * once the run has ended).
 *
 * @example
 * const store = await openOnlineStore('embedded', { ttlSecondsByGroup: { context: 30 } });
 */
export async function openOnlineStore(
  spec: string | OnlineSpec,
  options: OpenOnlineStoreOptions = {},
): Promise<OnlineStore> {
  const parsed = typeof spec === 'string' ? parseOnlineSpec(spec, options.flag) : spec;
  const common = {
    ...(options.ttlSecondsByGroup === undefined ? {} : { ttlSecondsByGroup: options.ttlSecondsByGroup }),
    ...(options.defaultTtlSeconds === undefined ? {} : { defaultTtlSeconds: options.defaultTtlSeconds }),
    ...(options.retryDeadlineMs === undefined ? {} : { retryDeadlineMs: options.retryDeadlineMs }),
    ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
  };
  if (parsed.kind === 'redis') {
    return new RedisOnlineStore({
      connection: parsed.url,
      ...common,
      ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
    });
  }
  return EmbeddedOnlineStore.open(parsed.dir, { ...common, flag: options.flag ?? '--online' });
}
