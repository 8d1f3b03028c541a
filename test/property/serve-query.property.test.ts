/**
 * Property: the serving API answers any request with 2xx or 4xx, never 5xx — random paths
 * (percent-encodings valid and broken, empty and long segments), query strings (known keys with
 * random values, repeated keys, unknown keys) and batch bodies (random JSON, broken JSON, wrong
 * content types), through fastify's `inject` against a server on real Redis and PostgreSQL
 * holding a few values.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisOnlineStore } from '../../src/stores/online-redis.js';
import { createServer } from '../../src/serve/server.js';
import { createTestSchema, putOffline, putOnline } from '../../src/serve/test-support.js';
import { PARAMS } from './runs.js';
import { featureSetOf } from '../../src/registry/feature-set.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = 'redis://127.0.0.1:6379';
const RUN = randomUUID().slice(0, 8);
const PREFIX = `fs-prop-${RUN}-`;
const SCHEMA = `fs_prop_${RUN}`;

let redis: Redis;
let pool: pg.Pool;
let online: RedisOnlineStore;
let app: FastifyInstance;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  await createTestSchema(pool, SCHEMA);
  online = new RedisOnlineStore({ connection: REDIS_URL });
  const v = {
    entityType: 'model',
    entityId: `${PREFIX}gpt-4`,
    group: 'perf_5min',
    version: 1,
    eventTime: Date.now() - 60_000,
    values: { latency_p50_5min: 120.5, latency_p95_5min: 480.25, success_rate_5min: 0.97 },
  };
  await putOnline(redis, v);
  await putOffline(pool, SCHEMA, v);
  app = await createServer({
    featureSet: featureSetOf(),
    online,
    offline: pool,
    offlineSchema: SCHEMA,
    redisUrl: REDIS_URL,
    l1: { maxBytes: 1 << 20, ttlMs: 60_000 },
    extensionOptions: { 'api-workflow': { embeddingsDir: null } },
  });
  // Listening too: paths fastify's inject cannot express (`/\`, `//x`: its URL parser reads a
  // host there) go over a socket.
  await app.listen({ port: 0, host: '127.0.0.1' });
});

/** Whether inject sends `url` as a path of this server (its URL parser may read `//x` as a host). */
function injectable(url: string): boolean {
  try {
    return new URL(url, 'http://localhost').host === 'localhost';
  } catch {
    return false;
  }
}

/** GET over a socket, as written: the status code. */
function rawGet(path: string): Promise<{ statusCode: number; body: string }> {
  const { port } = app.server.address() as { port: number };
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`),
    );
    let data = '';
    socket.setEncoding('latin1').on('data', (d: string) => {
      data += d;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m === null) reject(new Error(`no HTTP answer to GET ${path}: ${data.slice(0, 200)}`));
      else resolve({ statusCode: Number(m[1]), body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}

afterAll(async () => {
  await app?.close();
  const keys = await redis.keys(`*${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await pool.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await pool.end();
  await online.close();
  redis.disconnect();
});

/** A path segment: known names, random text (encoded or raw), broken percent-encodings. */
const segment = fc.oneof(
  fc.constantFrom(
    'model',
    'gpt-4',
    'user',
    'session',
    'perf_5min',
    'PERF_001',
    '',
    '..',
    '%',
    '%zz',
    '%E0%A4%A',
    '%00',
    '%2F',
  ),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.string({ maxLength: 30 }).map((s) => s.replace(/[/?#\s]/g, '')),
  fc
    .string({ unit: 'binary', maxLength: 10 })
    .map(encodeURIComponent)
    .filter((s) => s.length > 0),
);

const value = fc.oneof(
  fc.constantFrom(
    'latency_p50_5min',
    'latency_p50_5min,success_rate_5min',
    'PERF_001,PERF_002',
    '1',
    '0',
    '-1',
    '1e309',
    'NaN',
    '2025-01-15T10:00:00Z',
    '2025-13-45T99:99:99Z',
    '+275760-09-13T00:00:00.001Z',
    '9007199254740993',
    '24h',
    '0s',
    '-5m',
    '',
    '%',
    '%zz',
  ),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.integer().map(String),
  fc.double().map(String),
);

const query = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('features', 'version', 'at', 'user_id', 'group', 'window', 'entity', 'limit'),
        fc.string({ maxLength: 8 }).map(encodeURIComponent),
      ),
      value,
    ),
    { maxLength: 6 },
  )
  .map((kv) => (kv.length === 0 ? '' : `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}`));

const getPath = fc.oneof(
  fc.tuple(segment, segment, query).map(([t, id, q]) => `/features/${t}/${id}${q}`),
  fc.tuple(segment, query).map(([id, q]) => `/registry/features/${id}${q}`),
  query.map((q) => `/registry/features${q}`),
  query.map((q) => `/registry/groups${q}`),
  query.map((q) => `/quality${q}`),
  fc.constantFrom(
    '/healthz',
    '/readyz',
    '/metrics',
    '/',
    '//',
    '/\\',
    '//x/y',
    '/features',
    '/features/',
    '/features/model',
  ),
  fc.array(segment, { maxLength: 5 }).chain((segs) => query.map((q) => `/${segs.join('/')}${q}`)),
);

const request = fc.oneof(fc.constantFrom('model', 'user', 'x', '', null, 1), fc.jsonValue({ maxDepth: 2 }));
const batchBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .array(
      fc.record(
        {
          entity_type: request,
          entity_id: request,
          features: fc.oneof(fc.array(fc.constantFrom('latency_p50_5min', 'PERF_001', '', 'nope')), request),
          version: fc.oneof(fc.integer({ min: -2, max: 3 }), request),
          at: fc.oneof(fc.constantFrom('2025-01-15T10:00:00Z', 'x'), request),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 120 },
    )
    .map((requests) => JSON.stringify({ requests })),
  fc.string({ maxLength: 100 }),
  fc.constant('{"requests":['),
  // well formed, with random ids and feature names
  fc
    .array(
      fc.record({
        entity_type: fc.constant('model'),
        entity_id: fc.oneof(fc.constant(`${PREFIX}gpt-4`), fc.string({ maxLength: 20 })),
        features: fc.array(fc.constantFrom('latency_p50_5min', 'latency_p95_5min', 'PERF_001'), {
          minLength: 1,
          maxLength: 3,
        }),
      }),
      { minLength: 1, maxLength: 5 },
    )
    .map((requests) => JSON.stringify({ requests })),
);

const post = fc.tuple(
  fc.constantFrom(
    '/features/batch',
    '/workflow/rank-features',
    '/features/model/gpt-4',
    '/registry/features',
  ),
  batchBody,
  fc.constantFrom(
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
  ),
);

describe('property: the serving API', () => {
  it('any GET path and query string: 2xx/4xx, never 5xx', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(getPath, async (url) => {
        const res = injectable(url) ? await app.inject({ method: 'GET', url }) : await rawGet(url);
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${url} → ${res.statusCode} ${res.body.slice(0, 300)}`).toBeLessThan(500);
      }),
      PARAMS,
    );
    // Not only 404s: the routes were reached, and answered both ways.
    expect(
      [...seen.keys()].some((c) => c >= 200 && c < 300),
      JSON.stringify([...seen]),
    ).toBe(true);
    expect(
      [...seen.keys()].some((c) => c === 400),
      JSON.stringify([...seen]),
    ).toBe(true);
  });

  it('any POST body to the batch and workflow routes: 2xx/4xx, never 5xx', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(post, async ([url, payload, type]) => {
        const res = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': type } });
        const k = `${url.split('/')[1]} ${res.statusCode}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
        expect(
          res.statusCode,
          `${url} ${payload.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`,
        ).toBeLessThan(500);
      }),
      PARAMS,
    );
    process.stdout.write(`serve property: POST answers ${JSON.stringify([...seen].sort())}\n`);
    expect([...seen.keys()].some((k) => k.startsWith('workflow ') && !k.endsWith(' 404'))).toBe(true);
  });
});
