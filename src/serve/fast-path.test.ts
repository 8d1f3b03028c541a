import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisOnlineStore } from '../stores/online-redis.js';
import { createServer, type ServeOptions } from './server.js';
import { deleteOnline, putOnline } from './test-support.js';
import { featureSetOf } from '../registry/feature-set.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `fastpath-${randomUUID().slice(0, 8)}-`;
const M1 = `${PREFIX}m1`;
const M2 = `${PREFIX}m2`;

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

/** A response without what differs by the clock: Date, latency_ms, freshness_seconds. */
function comparable(r: Raw) {
  const { date: _date, ...headers } = r.headers;
  let body: unknown = r.body;
  try {
    const json = JSON.parse(r.body) as { latency_ms?: number; metadata?: { freshness_seconds?: number } };
    if (json.latency_ms !== undefined) json.latency_ms = 0;
    if (json.metadata?.freshness_seconds !== undefined) json.metadata.freshness_seconds = 0;
    body = json;
  } catch {
    // not JSON: compared as text
  }
  return { status: r.status, headers: { ...headers, 'content-length': undefined }, body };
}

/** The `feature_cache_hits_total` and `feature_serving_requests_total` lines of /metrics. */
async function counters(base: string): Promise<string[]> {
  const r = await get(base, '/metrics');
  return r.body
    .split('\n')
    .filter((l) => /^feature_(cache_hits|serving_requests)_total\{/.test(l))
    .filter((l) => !l.includes('route="metrics"'));
}

let redis: Redis;
let online: RedisOnlineStore;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  online = new RedisOnlineStore({ connection: REDIS_URL });
  const now = Date.now();
  for (const id of [M1, M2]) {
    await putOnline(redis, {
      entityType: 'model',
      entityId: id,
      group: 'perf_5min',
      version: 1,
      eventTime: now - 5_000,
      computedAt: now - 4_000,
      values: { latency_p50_5min: 812.5, latency_p95_5min: 2210.25, success_rate_5min: null },
    });
  }
  await putOnline(redis, {
    entityType: 'model',
    entityId: M1,
    group: 'perf_1hr',
    version: 1,
    eventTime: now - 60_000,
    computedAt: now - 50_000,
    values: { latency_p50_1hr: 700.125 },
  });
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await deleteOnline(redis, PREFIX);
  await online.close();
  redis.disconnect();
});

async function start(over: Partial<ServeOptions>): Promise<string> {
  const app = await createServer({
    featureSet: featureSetOf(),
    online,
    offline: null,
    redisUrl: null,
    l1: { maxBytes: 1 << 20, ttlMs: 60_000 },
    ...over,
  });
  apps.push(app);
  return app.listen({ port: 0, host: '127.0.0.1' });
}

describe('the L1 fast path', () => {
  it('answers exactly as the full fastify route does: status, headers, body and metrics', async () => {
    const auth = { authToken: 'sekret' };
    const fast = await start(auth);
    const full = await start({ ...auth, fastPath: false });
    const ok = { authorization: 'Bearer sekret' };
    const paths: Array<[string, Record<string, string>]> = [
      [`/features/model/${M1}?features=PERF_001,PERF_002,latency_p95_5min`, ok],
      [`/features/model/${M1}?features=PERF_002,latency_p50_1hr&user_id=u-1`, ok],
      [`/features/model/${M2}?features=PERF_001,latency_p50_1hr`, ok], // perf_1hr missing: none
      [`/features/model/${M1}?features=PERF_001`, {}], // 401 missing token
      [`/features/model/${M1}?features=PERF_001`, { authorization: 'Bearer wrong' }],
      [`/features/model/${M1}?features=PERF_999`, ok], // unknown feature
      [`/features/request/${M1}?features=PERF_001`, ok], // entity type mismatch
      [`/features/model/${M1}?features=`, ok],
      [`/features/model/${M1}`, ok], // features missing
      [`/features/model/${M1}?features=PERF_001&version=0`, ok],
      [`/features/model/${M1}?features=PERF_001&features=PERF_002`, ok],
      [`/features/model/${M1}?features=PERF_001&user_id=`, ok],
      [`/features/model/${encodeURIComponent(`${M1} x`)}?features=PERF_001`, ok],
      [`/features/model/${M1}/extra?features=PERF_001`, ok],
      [`/features//${M1}?features=PERF_001`, ok],
      [`/features/model/${M1}?features=PERF%5F001`, ok],
      [`/features/model/${M1}?features=PERF_001&unknown=1`, ok],
    ];
    // Twice: the first round fills L1 (through fastify on both), the second is served from L1.
    for (let round = 0; round < 2; round++) {
      for (const [path, headers] of paths) {
        const a = await get(fast, path, headers);
        const b = await get(full, path, headers);
        expect(comparable(a), `${path} ${JSON.stringify(headers)}`).toEqual(comparable(b));
        expect(a.headers['content-length']).toBe(String(Buffer.byteLength(a.body)));
      }
    }
    expect(await counters(fast)).toEqual(await counters(full));
    const served = JSON.parse((await get(fast, paths[0]![0], ok)).body) as {
      metadata: { cache_tier: string };
    };
    expect(served.metadata.cache_tier).toBe('l1');
  });

  it('counts an L1 hit it answers as a 200 of the features route', async () => {
    const base = await start({});
    const path = `/features/model/${M1}?features=PERF_001`;
    await get(base, path); // fills L1 through fastify
    const hits = async () => {
      const line = (await counters(base)).find(
        (l) => l.includes('route="features"') && l.includes('status="200"'),
      );
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await hits();
    const r = await get(base, path);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).metadata.cache_hit).toBe(true);
    expect(await hits()).toBe(before + 1);
  });
});

function post(base: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject).end(body);
  });
}

/** The body's text with the clock's numbers (latency, freshness) blanked: key order and bytes kept. */
const withoutClock = (body: string) => body.replace(/"(latency_ms|freshness_seconds)":[-0-9.e+]+/g, '"$1":_');

describe('batch answers from per-item templates', () => {
  it('writes the same bytes, headers and metrics as serializing the whole answer', async () => {
    const fast = await start({ rollout: { perf_5min: [{ version: 1, share: 1 }] } });
    const full = await start({ rollout: { perf_5min: [{ version: 1, share: 1 }] }, fastPath: false });
    const odd = `${PREFIX}"quoted"\\é✓`;
    await putOnline(redis, {
      entityType: 'model',
      entityId: odd,
      group: 'perf_5min',
      version: 1,
      eventTime: Date.now() - 7_000,
      computedAt: Date.now() - 6_000,
      values: { latency_p50_5min: -0.5, latency_p95_5min: 1e21 },
    });
    const batch = JSON.stringify({
      requests: [
        { entity_type: 'model', entity_id: M1, features: 'PERF_001,PERF_002,latency_p95_5min' },
        { entity_type: 'model', entity_id: M1, features: ['PERF_002', 'latency_p50_1hr'] }, // two groups
        { entity_type: 'model', entity_id: M2, features: 'PERF_001', user_id: 'u-7' }, // rollout arm
        { entity_type: 'model', entity_id: M2, features: 'latency_p50_5min', version: 1 },
        { entity_type: 'model', entity_id: `${PREFIX}nobody`, features: 'PERF_001' }, // not found
        { entity_type: 'model', entity_id: odd, features: 'PERF_001,success_rate_5min' },
        { entity_type: 'model', entity_id: M1, features: 'PERF_001,PERF_002,latency_p95_5min' }, // again
      ],
    });
    // Three rounds: the first fills L1 (L2 reads), the next two are answered from L1 (templates
    // made, then reused).
    for (let round = 0; round < 3; round++) {
      const a = await post(fast, '/features/batch', batch);
      const b = await post(full, '/features/batch', batch);
      expect(a.status, a.body).toBe(200);
      expect(withoutClock(a.body)).toBe(withoutClock(b.body));
      expect(comparable(a).headers).toEqual(comparable(b).headers);
      expect(a.headers['content-length']).toBe(String(Buffer.byteLength(a.body)));
    }
    expect(await counters(fast)).toEqual(await counters(full));
    const last = JSON.parse((await post(fast, '/features/batch', batch)).body) as {
      results: Array<{ metadata: { cache_tier: string; freshness_seconds: number | null } }>;
    };
    expect(last.results.map((r) => r.metadata.cache_tier)).toEqual([
      'l1',
      'l1',
      'l1',
      'l1',
      'none',
      'l1',
      'l1',
    ]);
    // The freshness is the clock's, not the template's: about 7 s for the odd entity.
    expect(last.results[5]!.metadata.freshness_seconds).toBeGreaterThanOrEqual(7);
    expect(last.results[4]!.metadata.freshness_seconds).toBeNull();
  });
});
