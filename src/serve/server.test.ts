import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { llmFeatureSet } from '../domains/llm/feature-set.js';
import { assignVersion } from '../registry/rollout.js';
import { RedisOnlineStore } from '../stores/online-redis.js';
import { INVALIDATION_CHANNEL } from './invalidation.js';
import { createServer, type ServeOptions } from './server.js';
import {
  createTestSchema,
  deleteOnline,
  onlineKey,
  putOffline,
  putOnline,
  type TestValue,
} from './test-support.js';
import { featureSetOf } from '../registry/feature-set.js';

const FEATURE_CATALOG = llmFeatureSet().features;
const GROUPS = llmFeatureSet().groups;

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = 'redis://127.0.0.1:6379';
const RUN = randomUUID().slice(0, 8);
const PREFIX = `fs-serve-${RUN}-`;
const SCHEMA = `fs_serve_${RUN}`;

/** A distinctive entity id per test case. */
let seq = 0;
const entity = (name: string) => `${PREFIX}${name}-${++seq}`;

const PERF5 = {
  latency_p50_5min: 120.5,
  latency_p95_5min: 480.25,
  latency_p99_5min: 900,
  success_rate_5min: 0.97,
  error_rate_5min: 0.03,
  avg_cost_per_request_5min: 0.0021,
  throughput_qps_5min: 1.5,
  token_efficiency_5min: null,
  retry_rate_5min: 0.01,
};
const PERF1H = { latency_p50_1hr: 130, latency_p95_1hr: 510, success_rate_1hr: 0.96 };

function perf5(entityId: string, over: Partial<TestValue> = {}): TestValue {
  return {
    entityType: 'model',
    entityId,
    group: 'perf_5min',
    version: 1,
    eventTime: Date.now() - 60_000,
    values: PERF5,
    ...over,
  };
}

interface Body {
  entity_id: string;
  features: Record<string, number | null>;
  statuses: Record<string, string>;
  metadata: {
    computed_at: string | null;
    version: number | Record<string, number>;
    cache_hit: boolean;
    cache_tier: string;
    freshness_seconds: number | null;
  };
  latency_ms: number;
}

interface ErrorResponse {
  error: { code: string; message: string };
}

let redis: Redis;
let pub: Redis;
let pool: pg.Pool;
let online: RedisOnlineStore;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  pub = new Redis(REDIS_URL);
  pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  await createTestSchema(pool, SCHEMA);
  online = new RedisOnlineStore({ connection: REDIS_URL });
});

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

afterAll(async () => {
  await deleteOnline(redis, PREFIX);
  await pool.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await pool.end();
  await online.close();
  redis.disconnect();
  pub.disconnect();
});

async function server(over: Partial<ServeOptions> = {}): Promise<FastifyInstance> {
  const app = await createServer({
    featureSet: featureSetOf(),
    online,
    offline: pool,
    offlineSchema: SCHEMA,
    redisUrl: REDIS_URL,
    l1: { maxBytes: 1 << 20, ttlMs: 60_000 },
    ...over,
  });
  apps.push(app);
  return app;
}

async function get(app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.json() as Body & ErrorResponse, headers: res.headers };
}

function url(entityId: string, query: string, entityType = 'model'): string {
  return `/features/${entityType}/${encodeURIComponent(entityId)}?${query}`;
}

/** Polls until `fn` holds (bounded), for effects that cross Redis pub/sub. */
async function eventually(fn: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never happened: ${what}`);
}

async function metricValue(app: FastifyInstance, line: RegExp): Promise<number> {
  const text = (await app.inject({ url: '/metrics' })).body;
  const m = text.split('\n').find((l) => line.test(l));
  return m === undefined ? 0 : Number(m.split(' ').pop());
}

describe('GET /features/:entity_type/:entity_id — tiers', () => {
  it('L2 hit after an L1 miss, then an L1 hit', async () => {
    const app = await server();
    const id = entity('l2');
    const computedAt = Date.now() - 5_000;
    const v = perf5(id, { computedAt });
    await putOnline(redis, v);
    const first = await get(app, url(id, 'features=PERF_001,latency_p95_5min,PERF_011'));
    expect(first.status).toBe(200);
    expect(first.body.entity_id).toBe(id);
    expect(first.body.features).toEqual({
      latency_p50_5min: 120.5,
      latency_p95_5min: 480.25,
      token_efficiency_5min: null,
    });
    expect(Object.keys(first.body.features)).toEqual([
      'latency_p50_5min',
      'latency_p95_5min',
      'token_efficiency_5min',
    ]);
    // Beside each value, whether it was found: a value the row does not hold is null_value.
    expect(first.body.statuses).toEqual({
      latency_p50_5min: 'present',
      latency_p95_5min: 'present',
      token_efficiency_5min: 'null_value',
    });
    expect(first.body.metadata.cache_tier).toBe('l2');
    expect(first.body.metadata.cache_hit).toBe(false);
    expect(first.body.metadata.version).toBe(1);
    expect(first.body.metadata.computed_at).toBe(new Date(computedAt).toISOString());
    expect(first.body.metadata.freshness_seconds).toBeGreaterThanOrEqual(60);
    expect(first.body.latency_ms).toBeGreaterThan(0);

    const second = await get(app, url(id, 'features=PERF_001,latency_p95_5min,PERF_011'));
    expect(second.body.metadata.cache_tier).toBe('l1');
    expect(second.body.metadata.cache_hit).toBe(true);
    expect(second.body.features).toEqual(first.body.features);
    expect(second.body.statuses).toEqual(first.body.statuses);
    expect(await metricValue(app, /^feature_cache_hits_total\{tier="l1",hit="true"\}/)).toBe(1);
    expect(await metricValue(app, /^feature_cache_hits_total\{tier="l1",hit="false"\}/)).toBe(1);
    expect(await metricValue(app, /^feature_cache_hits_total\{tier="l2",hit="true"\}/)).toBe(1);
  });

  it('L3 hit after an L2 miss fills L1 but not L2', async () => {
    const app = await server();
    const id = entity('l3');
    const v = perf5(id, { eventTime: Date.now() - 120_000, values: { ...PERF5, latency_p95_5min: 333 } });
    await putOffline(pool, SCHEMA, v);
    const first = await get(app, url(id, 'features=latency_p95_5min'));
    expect(first.status).toBe(200);
    expect(first.body.features).toEqual({ latency_p95_5min: 333 });
    expect(first.body.metadata.cache_tier).toBe('l3');
    expect(first.body.metadata.freshness_seconds).toBeGreaterThanOrEqual(120);
    const second = await get(app, url(id, 'features=latency_p95_5min'));
    expect(second.body.metadata.cache_tier).toBe('l1');
    expect(second.body.features).toEqual({ latency_p95_5min: 333 });
    expect(await redis.exists(onlineKey(v))).toBe(0);
    expect(await metricValue(app, /^feature_cache_hits_total\{tier="l2",hit="false"\}/)).toBe(1);
    expect(await metricValue(app, /^feature_cache_hits_total\{tier="l3",hit="true"\}/)).toBe(1);
  });

  it('L3 serves only values within the group TTL', async () => {
    const app = await server();
    const id = entity('l3-old');
    await putOffline(pool, SCHEMA, perf5(id, { eventTime: Date.now() - 2 * 86_400_000 }));
    const res = await get(app, url(id, 'features=PERF_002'));
    expect(res.body.features).toEqual({ latency_p95_5min: null });
    expect(res.body.metadata.cache_tier).toBe('none');
  });

  it('a full miss returns nulls with empty metadata and is not cached', async () => {
    const app = await server();
    const id = entity('miss');
    const res = await get(app, url(id, 'features=PERF_001,PERF_004'));
    expect(res.status).toBe(200);
    expect(res.body.features).toEqual({ latency_p50_5min: null, latency_p50_1hr: null });
    expect(res.body.metadata).toEqual({
      computed_at: null,
      version: 1,
      cache_hit: false,
      cache_tier: 'none',
      freshness_seconds: null,
    });
    // The value appears later: served at once, since misses are not cached.
    await putOnline(redis, perf5(id));
    const again = await get(app, url(id, 'features=PERF_001'));
    expect(again.body.features).toEqual({ latency_p50_5min: 120.5 });
  });

  it('spans groups: metadata describes the stalest and deepest part', async () => {
    const app = await server();
    const id = entity('multi');
    const old = Date.now() - 600_000;
    await putOnline(redis, perf5(id, { computedAt: Date.now() - 1000 }));
    await putOffline(pool, SCHEMA, {
      ...perf5(id),
      group: 'perf_1hr',
      eventTime: old,
      computedAt: old + 5,
      values: PERF1H,
    });
    const res = await get(app, url(id, 'features=PERF_004,PERF_001'));
    expect(res.body.features).toEqual({ latency_p50_1hr: 130, latency_p50_5min: 120.5 });
    expect(res.body.metadata.cache_tier).toBe('l3');
    expect(res.body.metadata.computed_at).toBe(new Date(old + 5).toISOString());
    expect(res.body.metadata.freshness_seconds).toBeGreaterThanOrEqual(600);
    const again = await get(app, url(id, 'features=PERF_004,PERF_001'));
    expect(again.body.metadata).toMatchObject({ cache_tier: 'l1', cache_hit: true });
    // One group missing everywhere: tier none, present values still served.
    const partial = await get(app, url(id, 'features=PERF_001,CTX_008'));
    expect(partial.body.features).toEqual({ latency_p50_5min: 120.5, recent_timeout_rate_5min: null });
    expect(partial.body.metadata).toMatchObject({ cache_tier: 'none', cache_hit: false });
  });

  it('with L1 disabled every read goes to L2', async () => {
    const app = await server({ l1: { maxBytes: 0, ttlMs: 60_000 } });
    const id = entity('nol1');
    await putOnline(redis, perf5(id));
    for (let i = 0; i < 3; i++) {
      const res = await get(app, url(id, 'features=PERF_001'));
      expect(res.body.metadata.cache_tier).toBe('l2');
    }
  });

  it('L1 is invalidated by a message on the invalidation channel', async () => {
    const app = await server();
    const id = entity('inv');
    const key = await putOnline(redis, perf5(id));
    expect((await get(app, url(id, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l2');
    await putOnline(redis, perf5(id, { eventTime: Date.now(), values: { latency_p50_5min: 77 } }));
    // Not yet invalidated: L1 still answers with the old value.
    const stale = await get(app, url(id, 'features=PERF_001'));
    expect(stale.body.features.latency_p50_5min).toBe(120.5);
    expect(stale.body.metadata.cache_tier).toBe('l1');
    await pub.publish(INVALIDATION_CHANNEL, `feature:model:other:perf_5min:v1\n${key}\n`);
    await eventually(async () => {
      const res = await get(app, url(id, 'features=PERF_001'));
      return res.body.features.latency_p50_5min === 77;
    }, 'the invalidated key is read again from L2');
    expect(await metricValue(app, /^feature_l1_invalidations_total /)).toBe(2);
  });

  it('dropL1 empties L1: a value written with no invalidation message is read again', async () => {
    const app = await server();
    const id = entity('drop');
    await putOnline(redis, perf5(id));
    expect((await get(app, url(id, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l2');
    // Written as a push into embedded stores is: no message on the invalidation channel.
    await putOnline(redis, perf5(id, { eventTime: Date.now(), values: { latency_p50_5min: 77 } }));
    expect((await get(app, url(id, 'features=PERF_001'))).body.features.latency_p50_5min).toBe(120.5);
    app.dropL1();
    const res = await get(app, url(id, 'features=PERF_001'));
    expect(res.body.features.latency_p50_5min).toBe(77);
    expect(res.body.metadata.cache_tier).toBe('l2');
  });

  it('L1 is off while the invalidation subscription is down, and emptied when it is back', async () => {
    const app = await server();
    const id = entity('resub');
    await putOnline(redis, perf5(id));
    await get(app, url(id, 'features=PERF_001'));
    expect((await get(app, url(id, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l1');
    // A write whose invalidation is lost while the subscriber is disconnected.
    await putOnline(redis, perf5(id, { eventTime: Date.now(), values: { latency_p50_5min: 42 } }));
    const clients = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const mine = clients
      .split('\n')
      .filter((l) => l.includes(` name=featurestream-serve-inv:${process.pid}:`))
      .map((l) => /\bid=(\d+)/.exec(l)![1]!);
    expect(mine).toHaveLength(1);
    await redis.call('CLIENT', 'KILL', 'ID', mine[0]!);
    await eventually(async () => {
      const res = await get(app, url(id, 'features=PERF_001'));
      return res.body.features.latency_p50_5min === 42;
    }, 'the value written while disconnected is served');
    await eventually(
      async () => (await app.inject({ url: '/readyz' })).statusCode === 200,
      'the subscription is back',
    );
    await get(app, url(id, 'features=PERF_001'));
    expect((await get(app, url(id, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l1');
  });

  it('without an invalidation subscription L1 stays off and /readyz says so', async () => {
    const app = await server({ redisUrl: 'redis://127.0.0.1:1', invalidationStartTimeoutMs: 200 });
    const id = entity('nosub');
    await putOnline(redis, perf5(id));
    expect((await get(app, url(id, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l2');
    expect((await get(app, url(id, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l2');
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ checks: { invalidation: 'down' } });
  });

  it('L1 entries expire after l1.ttlMs', async () => {
    const app = await server({ redisUrl: null, l1: { maxBytes: 1 << 20, ttlMs: 150 } });
    const id = entity('ttl');
    await putOnline(redis, perf5(id));
    await get(app, url(id, 'features=PERF_001'));
    await putOnline(redis, perf5(id, { eventTime: Date.now(), values: { latency_p50_5min: 5 } }));
    expect((await get(app, url(id, 'features=PERF_001'))).body.features.latency_p50_5min).toBe(120.5);
    await new Promise((r) => setTimeout(r, 300));
    const res = await get(app, url(id, 'features=PERF_001'));
    expect(res.body.features.latency_p50_5min).toBe(5);
    expect(res.body.metadata.cache_tier).toBe('l2');
  });

  it('an L1 entry never outlives the online-store TTL of its group', async () => {
    const app = await server({
      offline: null,
      ttlSecondsByGroup: { perf_5min: 1 },
      l1: { maxBytes: 1 << 20, ttlMs: 60_000 },
    });
    const id = entity('group-ttl');
    await putOnline(redis, perf5(id), 1);
    expect((await get(app, url(id, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l2');
    expect((await get(app, url(id, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l1');
    await new Promise((r) => setTimeout(r, 1_300));
    const res = await get(app, url(id, 'features=PERF_001'));
    expect(res.body.features.latency_p50_5min).toBeNull();
    expect(res.body.metadata.cache_tier).toBe('none');
  });

  it('bounds L1 by bytes', async () => {
    const app = await server({ l1: { maxBytes: 4_000, ttlMs: 60_000 } });
    const ids = Array.from({ length: 30 }, () => entity('bytes'));
    for (const id of ids) await putOnline(redis, perf5(id));
    for (const id of ids) await get(app, url(id, 'features=PERF_001'));
    const bytes = await metricValue(app, /^feature_l1_bytes /);
    const entries = await metricValue(app, /^feature_l1_entries /);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(4_000);
    expect(entries).toBeLessThan(30);
    // The most recent entity is still cached, the first was evicted.
    expect((await get(app, url(ids[29]!, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l1');
    expect((await get(app, url(ids[0]!, 'features=PERF_001'))).body.metadata.cache_tier).toBe('l2');
  });

  it('returns every value of a multi-value feature, or one value by its name', async () => {
    const app = await server();
    const id = entity('req');
    const values: Record<string, number> = {};
    for (let i = 1; i <= 8; i++) values[`prompt_embedding_${i}`] = i / 10;
    await putOnline(redis, {
      entityType: 'request',
      entityId: id,
      group: 'derived',
      version: 1,
      eventTime: Date.now(),
      values,
    });
    const all = await get(app, url(id, 'features=DRV_001', 'request'));
    expect(all.body.features).toEqual(values);
    const one = await get(app, url(id, 'features=prompt_embedding_3', 'request'));
    expect(one.body.features).toEqual({ prompt_embedding_3: 0.3 });
  });
});

describe('stores failing', () => {
  it('an unreachable online store falls through to L3', async () => {
    const dead = new RedisOnlineStore({ connection: 'redis://127.0.0.1:1' });
    try {
      const app = await server({ online: dead, redisUrl: null });
      const id = entity('dead-l2');
      await putOffline(pool, SCHEMA, perf5(id));
      const res = await get(app, url(id, 'features=PERF_001'));
      expect(res.status).toBe(200);
      expect(res.body.metadata.cache_tier).toBe('l3');
      expect(await metricValue(app, /^feature_store_errors_total\{tier="l2"\}/)).toBe(1);
    } finally {
      await dead.close();
    }
  });

  it('503 store_unavailable when no tier can answer', async () => {
    const dead = new RedisOnlineStore({ connection: 'redis://127.0.0.1:1' });
    try {
      const app = await server({ online: dead, offline: null, redisUrl: null });
      const res = await get(app, url(entity('dead'), 'features=PERF_001'));
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('store_unavailable');
    } finally {
      await dead.close();
    }
  });
});

describe('point-in-time reads (at=)', () => {
  it('serve the latest value at or before `at`, highest revision, within the TTL', async () => {
    const app = await server();
    const id = entity('pit');
    const t1 = Date.UTC(2025, 0, 15, 10, 4, 59, 999);
    const t2 = Date.UTC(2025, 0, 15, 10, 9, 59, 999);
    await putOffline(pool, SCHEMA, perf5(id, { eventTime: t1, values: { latency_p95_5min: 100 } }));
    await putOffline(
      pool,
      SCHEMA,
      perf5(id, { eventTime: t1, revision: 1, values: { latency_p95_5min: 110 } }),
    );
    await putOffline(pool, SCHEMA, perf5(id, { eventTime: t2, values: { latency_p95_5min: 200 } }));
    // Online holds something newer: at= must not look at it.
    await putOnline(redis, perf5(id, { eventTime: Date.now(), values: { latency_p95_5min: 999 } }));
    const at = (ms: number) =>
      url(id, `features=PERF_002&at=${encodeURIComponent(new Date(ms).toISOString())}`);

    const before = await get(app, at(t1 - 1));
    expect(before.body.features).toEqual({ latency_p95_5min: null });
    expect(before.body.metadata.cache_tier).toBe('none');

    const onT1 = await get(app, at(t1));
    expect(onT1.body.features).toEqual({ latency_p95_5min: 110 });

    const between = await get(app, at(t1 + 60_000));
    expect(between.body.features).toEqual({ latency_p95_5min: 110 });
    expect(between.body.metadata.cache_tier).toBe('l3');
    expect(between.body.metadata.cache_hit).toBe(false);
    expect(between.body.metadata.freshness_seconds).toBe(60);

    expect((await get(app, at(t2 + 1))).body.features).toEqual({ latency_p95_5min: 200 });
    // 24 h TTL of perf_5min: a day after t2 the value has expired.
    expect((await get(app, at(t2 + 86_400_000 - 1))).body.features).toEqual({ latency_p95_5min: 200 });
    expect((await get(app, at(t2 + 86_400_000))).body.features).toEqual({ latency_p95_5min: null });
    // An offset timestamp means the same instant.
    const offset = await get(
      app,
      url(id, `features=PERF_002&at=${encodeURIComponent('2025-01-15T11:06:00+01:00')}`),
    );
    expect(offset.body.features).toEqual({ latency_p95_5min: 110 });
    // Year 1 is a valid (empty) read; year 0 (RFC 3339 allows it, PostgreSQL does not) is refused.
    const early = await get(app, url(id, 'features=PERF_002&at=0001-01-01T00:00:00Z'));
    expect(early.status).toBe(200);
    expect(early.body.features).toEqual({ latency_p95_5min: null });
    const year0 = await get(app, url(id, 'features=PERF_002&at=0000-06-01T00:00:00Z'));
    expect(year0.status).toBe(400);
    expect(year0.body.error.code).toBe('bad_at');
    // Point-in-time reads are not cached in L1.
    expect((await get(app, url(id, 'features=PERF_002'))).body.features).toEqual({ latency_p95_5min: 999 });
  });

  it('need an offline store', async () => {
    const app = await server({ offline: null });
    const res = await get(app, url(entity('pit'), 'features=PERF_002&at=2025-01-15T10:00:00Z'));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('point_in_time_unavailable');
  });
});

describe('versions and rollout', () => {
  it('serves an explicit version, the default version, and the rollout assignment', async () => {
    const rollout = {
      perf_5min: [
        { version: 1, share: 0.5 },
        { version: 2, share: 0.5 },
      ],
    };
    const app = await server({ rollout });
    const id = entity('ver');
    await putOnline(redis, perf5(id, { values: { latency_p95_5min: 1 } }));
    await putOnline(redis, perf5(id, { version: 2, values: { latency_p95_5min: 2 } }));
    await putOnline(redis, { ...perf5(id), group: 'perf_1hr', values: PERF1H });

    const v2 = await get(app, url(id, 'features=PERF_002&version=2'));
    expect(v2.body.features).toEqual({ latency_p95_5min: 2 });
    expect(v2.body.metadata.version).toBe(2);
    const v1 = await get(app, url(id, 'features=PERF_002&version=1'));
    expect(v1.body.features).toEqual({ latency_p95_5min: 1 });
    const dflt = await get(app, url(id, 'features=PERF_002'));
    expect(dflt.body.metadata.version).toBe(1);

    const seen = new Set<number>();
    // Users are random per run: take at least 40 and go on until both versions were assigned.
    for (let i = 0; i < 400 && (i < 40 || seen.size < 2); i++) {
      const user = `user-${RUN}-${i}`;
      const expected = assignVersion(user, rollout.perf_5min);
      const res = await get(app, url(id, `features=PERF_002&user_id=${user}`));
      expect(res.body.metadata.version).toBe(expected);
      expect(res.body.features.latency_p95_5min).toBe(expected);
      seen.add(expected);
      // An explicit version wins over the rollout.
      const pinned = await get(app, url(id, `features=PERF_002&user_id=${user}&version=1`));
      expect(pinned.body.features.latency_p95_5min).toBe(1);
    }
    expect(seen).toEqual(new Set([1, 2]));

    // A group without a rollout stays at its default: per-group versions are reported.
    let user = '';
    for (let i = 0; user === ''; i++) {
      if (assignVersion(`mixed-${i}`, rollout.perf_5min) === 2) user = `mixed-${i}`;
    }
    const mixed = await get(app, url(id, `features=PERF_002,PERF_004&user_id=${user}`));
    expect(mixed.body.metadata.version).toEqual({ perf_5min: 2, perf_1hr: 1 });
    expect(mixed.body.features).toEqual({ latency_p95_5min: 2, latency_p50_1hr: 130 });
  });

  it('rejects an invalid rollout at start', async () => {
    await expect(
      createServer({
        featureSet: featureSetOf(),
        online,
        offline: null,
        redisUrl: null,
        l1: { maxBytes: 0, ttlMs: 0 },
        rollout: { perf_5min: [{ version: 1, share: 0.6 }] },
      }),
    ).rejects.toThrow(/rollout\.perf_5min.*sum to 1/);
    await expect(
      createServer({
        featureSet: featureSetOf(),
        online,
        offline: null,
        redisUrl: null,
        l1: { maxBytes: 0, ttlMs: 0 },
        rollout: { nope: [{ version: 1, share: 1 }] },
      }),
    ).rejects.toThrow(/unknown feature group/);
  });
});

describe('POST /features/batch', () => {
  it('answers every request in order, one read per distinct key', async () => {
    const app = await server();
    const a = entity('batch-a');
    const b = entity('batch-b');
    const miss = entity('batch-miss');
    await putOnline(redis, perf5(a));
    await putOnline(redis, perf5(b, { values: { latency_p95_5min: 7 } }));
    const res = await app.inject({
      method: 'POST',
      url: '/features/batch',
      payload: {
        requests: [
          { entity_type: 'model', entity_id: a, features: 'PERF_001,PERF_002' },
          { entity_type: 'model', entity_id: b, features: ['latency_p95_5min'], version: 1 },
          { entity_type: 'model', entity_id: miss, features: ['PERF_002'] },
          { entity_type: 'model', entity_id: a, features: ['PERF_002'] },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      results: Array<Omit<Body, 'latency_ms'> & { entity_type: string }>;
      latency_ms: number;
    };
    expect(body.latency_ms).toBeGreaterThan(0);
    expect(body.results.map((r) => r.entity_id)).toEqual([a, b, miss, a]);
    expect(body.results[0]!.features).toEqual({ latency_p50_5min: 120.5, latency_p95_5min: 480.25 });
    expect(body.results[0]!.entity_type).toBe('model');
    expect(body.results[1]!.features).toEqual({ latency_p95_5min: 7 });
    expect(body.results[2]!.features).toEqual({ latency_p95_5min: null });
    // An unknown entity is not a silent null: its status says not_found.
    expect(body.results[2]!.statuses).toEqual({ latency_p95_5min: 'not_found' });
    expect(body.results[0]!.statuses).toEqual({ latency_p50_5min: 'present', latency_p95_5min: 'present' });
    expect(body.results[2]!.metadata.cache_tier).toBe('none');
    expect(body.results[3]!.features).toEqual({ latency_p95_5min: 480.25 });
    // a, b and miss: three L2 reads although a is asked twice.
    expect(await metricValue(app, /^feature_cache_hits_total\{tier="l2",hit="true"\}/)).toBe(2);
    expect(await metricValue(app, /^feature_cache_hits_total\{tier="l2",hit="false"\}/)).toBe(1);
  });
});

describe('registry, health, metrics', () => {
  it('lists the catalog, one feature and the groups', async () => {
    const app = await server();
    const list = (await app.inject({ url: '/registry/features' })).json() as {
      features: Array<Record<string, unknown>>;
    };
    expect(list.features.map((f) => f.id)).toEqual(FEATURE_CATALOG.map((f) => f.id));
    const one = (await app.inject({ url: '/registry/features/latency_p95_5min' })).json() as Record<
      string,
      unknown
    >;
    expect(one).toMatchObject({
      id: 'PERF_002',
      name: 'latency_p95_5min',
      type: 'float64',
      entity: 'model',
      group: 'perf_5min',
      value_names: ['latency_p95_5min'],
      active: true,
    });
    expect((await app.inject({ url: '/registry/features/DRV_001' })).json()).toMatchObject({
      value_names: Array.from({ length: 8 }, (_, i) => `prompt_embedding_${i + 1}`),
    });
    const missing = await app.inject({ url: '/registry/features/NOPE_1' });
    expect(missing.statusCode).toBe(404);
    expect((missing.json() as ErrorResponse).error.code).toBe('unknown_feature');
    const groups = (await app.inject({ url: '/registry/groups' })).json() as {
      groups: Array<{ group: string; ttl_seconds: number; features: string[] }>;
    };
    expect(groups.groups.map((g) => g.group)).toEqual(GROUPS.map((g) => g.group));
    expect(groups.groups.find((g) => g.group === 'perf_1hr')!.features).toEqual([
      'PERF_004',
      'PERF_005',
      'PERF_007',
    ]);
  });

  it('healthz, readyz with live and dead stores', async () => {
    const app = await server();
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { online: 'ok', offline: 'ok', invalidation: 'ok' },
    });

    const dead = new RedisOnlineStore({ connection: 'redis://127.0.0.1:1' });
    try {
      const bad = await server({ online: dead, offlineSchema: `${SCHEMA}_missing`, redisUrl: null });
      const res = await bad.inject({ url: '/readyz' });
      expect(res.statusCode).toBe(503);
      const body = res.json() as { down: string[] };
      expect(body).toMatchObject({
        status: 'not_ready',
        checks: { online: 'down', offline: 'down', invalidation: 'disabled' },
      });
      // What is down, by name, with its error.
      expect(body.down).toHaveLength(2);
      expect(body.down[0]).toMatch(/^online redis:\/\/127\.0\.0\.1:1: \S/);
      expect(body.down[1]).toMatch(/^offline offline store: \S/);
      expect((await bad.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await dead.close();
    }

    const none = await server({ online: null, offline: null, redisUrl: null });
    expect((await none.inject({ url: '/readyz' })).json()).toMatchObject({
      status: 'ready',
      checks: { online: 'disabled', offline: 'disabled', invalidation: 'disabled' },
    });
  });

  it('exports latency, request, error and cache metrics', async () => {
    const app = await server();
    const id = entity('metrics');
    await putOnline(redis, perf5(id));
    for (let i = 0; i < 3; i++) await get(app, url(id, 'features=PERF_001'));
    await get(app, url(id, 'features=NOPE'));
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toContain('feature_serving_latency_ms_bucket{le="0.1",route="features"}');
    expect(text).toMatch(/feature_serving_latency_ms_count\{route="features"\} 4/);
    expect(Number(/feature_serving_latency_ms_sum\{route="features"\} (\S+)/.exec(text)![1])).toBeGreaterThan(
      0,
    );
    expect(text).toMatch(/feature_serving_requests_total\{route="features",status="200"\} 3/);
    expect(text).toMatch(/feature_serving_requests_total\{route="features",status="400"\} 1/);
    expect(text).toMatch(/feature_serving_errors_total\{status="400"\} 1/);
    expect(text).toMatch(/feature_cache_hits_total\{tier="l1",hit="true"\} 2/);
  });
});

describe('auth', () => {
  it('requires the bearer token on features and registry, not on health, readiness, metrics', async () => {
    const app = await server({ authToken: 's3cret' });
    const id = entity('auth');
    await putOnline(redis, perf5(id));
    const none = await get(app, url(id, 'features=PERF_001'));
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    expect(none.body.error.message).toMatch(/missing bearer token/);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await get(app, url(id, 'features=PERF_001'), { authorization: 'Bearer s3creT' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toMatch(/invalid bearer token/);
    const basic = await get(app, url(id, 'features=PERF_001'), { authorization: 'Basic s3cret' });
    expect(basic.status).toBe(401);
    const ok = await get(app, url(id, 'features=PERF_001'), { authorization: 'Bearer s3cret' });
    expect(ok.status).toBe(200);
    expect(ok.body.features.latency_p50_5min).toBe(120.5);
    const batch = await app.inject({
      method: 'POST',
      url: '/features/batch',
      payload: { requests: [{ entity_type: 'model', entity_id: id, features: 'PERF_001' }] },
    });
    expect(batch.statusCode).toBe(401);
    expect((await app.inject({ url: '/registry/groups' })).statusCode).toBe(401);
    expect(
      (await app.inject({ url: '/registry/groups', headers: { authorization: 'Bearer s3cret' } })).statusCode,
    ).toBe(200);
    for (const open of ['/healthz', '/readyz', '/metrics']) {
      expect((await app.inject({ url: open })).statusCode).toBe(200);
    }
    expect(await metricValue(app, /^feature_serving_errors_total\{status="401"\}/)).toBe(5);
  });

  it('rejects an empty token at start', async () => {
    await expect(
      createServer({
        featureSet: featureSetOf(),
        online: null,
        offline: null,
        redisUrl: null,
        l1: { maxBytes: 0, ttlMs: 0 },
        authToken: '',
      }),
    ).rejects.toThrow(/authToken/);
  });
});

describe('bad requests', () => {
  const cases: Array<[string, string, number, string, RegExp]> = [
    ['unknown feature', url('m', 'features=PERF_001,PERF_999'), 400, 'unknown_feature', /"PERF_999"/],
    ['unknown entity type', url('m', 'features=PERF_001', 'planet'), 400, 'unknown_entity_type', /"planet"/],
    [
      'mismatched entity type',
      url('u', 'features=PERF_001', 'user'),
      400,
      'entity_type_mismatch',
      /"PERF_001".*"model", not "user"/,
    ],
    [
      'features of two entities',
      url('m', 'features=PERF_001,REQ_001'),
      400,
      'entity_type_mismatch',
      /"REQ_001"/,
    ],
    ['missing features', url('m', 'version=1'), 400, 'missing_features', /features is required/],
    ['empty features', url('m', 'features=,%20'), 400, 'missing_features', /at least one feature/],
    [
      'version 0',
      url('m', 'features=PERF_001&version=0'),
      400,
      'bad_version',
      /version must be a positive integer, got "0"/,
    ],
    ['version abc', url('m', 'features=PERF_001&version=abc'), 400, 'bad_version', /got "abc"/],
    ['version 1.5', url('m', 'features=PERF_001&version=1.5'), 400, 'bad_version', /positive integer/],
    ['bad at', url('m', 'features=PERF_001&at=yesterday'), 400, 'bad_at', /RFC 3339.*got "yesterday"/],
    ['at without zone', url('m', 'features=PERF_001&at=2025-01-15T10:00:00'), 400, 'bad_at', /RFC 3339/],
    [
      'at on a day that is not',
      url('m', 'features=PERF_001&at=2025-02-30T10:00:00Z'),
      400,
      'bad_at',
      /RFC 3339/,
    ],
    ['unknown route', '/feature/model/x', 404, 'not_found', /GET \/feature\/model\/x/],
  ];
  for (const [name, path, status, code, message] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const app = await server();
      const res = await get(app, path);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toMatch(message);
    });
  }

  async function post(payload: string, contentType = 'application/json') {
    const app = await server({ maxBatch: 3 });
    const res = await app.inject({
      method: 'POST',
      url: '/features/batch',
      payload,
      headers: { 'content-type': contentType },
    });
    return { status: res.statusCode, body: res.json() as ErrorResponse };
  }
  const item = (over: Record<string, unknown> = {}) => ({
    entity_type: 'model',
    entity_id: 'x',
    features: ['PERF_001'],
    ...over,
  });

  it('malformed JSON → 400 malformed_json', async () => {
    const res = await post('{"requests": [');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('malformed_json');
    expect(res.body.error.message).toMatch(/malformed JSON body/);
    const empty = await post('');
    expect(empty.body.error.code).toBe('malformed_json');
  });

  it('oversized batch → 413 batch_too_large', async () => {
    const res = await post(JSON.stringify({ requests: [item(), item(), item(), item()] }));
    expect(res.status).toBe(413);
    expect(res.body.error).toEqual({
      code: 'batch_too_large',
      message: 'requests: a batch holds at most 3 requests; split it',
    });
  });

  it('a bad item names its index', async () => {
    const unknown = await post(JSON.stringify({ requests: [item(), item({ features: 'PERF_001,BOGUS' })] }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('unknown_feature');
    expect(unknown.body.error.message).toMatch(/^requests\[1\]\.features: unknown feature "BOGUS"/);
    const mismatch = await post(JSON.stringify({ requests: [item({ entity_type: 'user' })] }));
    expect(mismatch.body.error.code).toBe('entity_type_mismatch');
    const badType = await post(JSON.stringify({ requests: [item({ entity_type: 'galaxy' })] }));
    expect(badType.body.error.code).toBe('unknown_entity_type');
    const version = await post(JSON.stringify({ requests: [item(), item(), item({ version: -1 })] }));
    expect(version.body.error.code).toBe('bad_version');
    expect(version.body.error.message).toMatch(/^requests\[2\]\.version/);
    const at = await post(JSON.stringify({ requests: [item({ at: 'noon' })] }));
    expect(at.body.error.code).toBe('bad_at');
    const noFeatures = await post(JSON.stringify({ requests: [item({ features: undefined })] }));
    expect(noFeatures.body.error.code).toBe('missing_features');
    expect(noFeatures.body.error.message).toMatch(/^requests\[0\]\.features is required/);
    const noId = await post(JSON.stringify({ requests: [item({ entity_id: undefined })] }));
    expect(noId.body.error).toEqual({ code: 'bad_request', message: 'requests[0].entity_id is required' });
    const noRequests = await post(JSON.stringify({ nope: 1 }));
    expect(noRequests.body.error).toEqual({ code: 'bad_request', message: 'requests is required' });
    const emptyBatch = await post(JSON.stringify({ requests: [] }));
    expect(emptyBatch.body.error.code).toBe('bad_request');
  });

  it('a body that is not JSON → 415', async () => {
    const res = await post('requests=1', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
  });
});

describe('over a real socket', () => {
  it('serves JSON over HTTP with keep-alive', async () => {
    const app = await server();
    const id = entity('socket');
    await putOnline(redis, perf5(id));
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const first = await fetch(`${address}${url(id, 'features=PERF_001,PERF_002')}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await first.json()) as Body;
    expect(body.latency_ms).toBeGreaterThan(0);
    expect(body.features).toEqual({ latency_p50_5min: 120.5, latency_p95_5min: 480.25 });
    const second = (await (await fetch(`${address}${url(id, 'features=PERF_001,PERF_002')}`)).json()) as Body;
    expect(second.metadata.cache_tier).toBe('l1');
    const bad = await fetch(`${address}/features/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{oops',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorResponse).error.code).toBe('malformed_json');
  });
});
