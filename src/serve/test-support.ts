/**
 * Test and benchmark helpers for the serving API: a throw-away PostgreSQL schema with
 * `feature_values` from the shipped migration, and raw writers for both stores that do not go
 * through the sink (so a test controls exactly what each tier holds and whether an invalidation
 * is published).
 *
 * @example
 * const pg = await createTestSchema(pool, 'fs_serve_abc');
 * await putOffline(pool, pg.schema, { entityType: 'model', entityId: 'm', group: 'perf_5min', version: 1,
 *   eventTime: Date.now() - 1000, values: { latency_p95_5min: 812 } });
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { NULL_MARKER } from '../stores/online-redis.js';
import type { SqlClient } from './offline-reader.js';

/** One stored value, as a test writes it. */
export interface TestValue {
  readonly entityType: string;
  readonly entityId: string;
  readonly group: string;
  readonly version: number;
  /** ms since the epoch. */
  readonly eventTime: number;
  readonly revision?: number;
  /** ms since the epoch; default now. */
  readonly computedAt?: number;
  readonly values: Readonly<Record<string, number | null>>;
}

const MIGRATION = new URL('../stores/migrations/001_init.sql', import.meta.url);

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Creates `schema` with the tables of `001_init.sql` and a default partition of
 * `feature_values` (so rows of any month can be inserted).
 */
export async function createTestSchema(client: SqlClient, schema: string): Promise<void> {
  const sql = readFileSync(MIGRATION, 'utf8');
  const s = quote(schema);
  await client.query(`CREATE SCHEMA ${s}`);
  await client.query(`SET search_path TO ${s}`);
  try {
    await client.query(sql);
    await client.query(`CREATE TABLE ${s}.feature_values_default PARTITION OF ${s}.feature_values DEFAULT`);
  } finally {
    await client.query('SET search_path TO public');
  }
}

/** Inserts (or, on the same key, replaces) one row of `schema.feature_values`. */
export async function putOffline(client: SqlClient, schema: string, v: TestValue): Promise<void> {
  await client.query(
    `INSERT INTO ${quote(schema)}.feature_values
       (entity_type, entity_id, feature_group, version, window_start, window_end, event_time, revision, "values", computed_at)
     VALUES ($1, $2, $3, $4, NULL, NULL, $5::timestamptz, $6, $7::jsonb, $8::timestamptz)
     ON CONFLICT (feature_group, entity_type, entity_id, version, event_time) WHERE window_end IS NULL
     DO UPDATE SET revision = excluded.revision, "values" = excluded."values", computed_at = excluded.computed_at`,
    [
      v.entityType,
      v.entityId,
      v.group,
      v.version,
      new Date(v.eventTime).toISOString(),
      v.revision ?? 0,
      JSON.stringify(v.values),
      new Date(v.computedAt ?? Date.now()).toISOString(),
    ],
  );
}

/** The online-store key of a value (no prefix). */
export function onlineKey(v: Pick<TestValue, 'entityType' | 'entityId' | 'group' | 'version'>): string {
  return `feature:${v.entityType}:${v.entityId}:${v.group}:v${v.version}`;
}

/**
 * Writes one hash in the online store's format (fields, `_event_time`, `_revision`,
 * `_computed_at`, TTL) without publishing an invalidation. Returns the key.
 */
export async function putOnline(redis: Redis, v: TestValue, ttlSeconds = 3600): Promise<string> {
  const key = onlineKey(v);
  const fields: string[] = [
    '_event_time',
    String(v.eventTime),
    '_revision',
    String(v.revision ?? 0),
    '_computed_at',
    String(v.computedAt ?? Date.now()),
  ];
  for (const [name, value] of Object.entries(v.values))
    fields.push(name, value === null ? NULL_MARKER : String(value));
  await redis
    .multi()
    .del(key)
    .hset(key, ...fields)
    .expire(key, ttlSeconds)
    .exec();
  return key;
}

/** Deletes every online-store key whose entity id starts with `entityIdPrefix`. */
export async function deleteOnline(redis: Redis, entityIdPrefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `feature:*:${entityIdPrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
