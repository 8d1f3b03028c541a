import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPlugin } from '../../operators/plugins.js';
import { ConfigError } from '../shared/errors.js';
import { type L1Follower, registeredServeExtensions, type ServeExtension } from './extensions.js';
import { createServer, type ServeOptions } from './server.js';
import { featureSetOf } from '../registry/feature-set.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const BASE: ServeOptions = {
  featureSet: featureSetOf(),
  online: null,
  offline: null,
  redisUrl: null,
  l1: { maxBytes: 1 << 20, ttlMs: 5_000 },
};

const apps: FastifyInstance[] = [];
async function server(opts: Partial<ServeOptions> = {}): Promise<FastifyInstance> {
  const app = await createServer({ ...BASE, ...opts });
  apps.push(app);
  return app;
}

/** An extension answering `GET /ext/ping`, and what its context and L1 follower saw. */
function pingExtension(name = 'ping') {
  const seen = { options: undefined as unknown, ttlMs: -1, calls: [] as string[] };
  const follower: L1Follower = {
    invalidate: (keys) => seen.calls.push(`invalidate ${keys.join(',')}`),
    setActive: (active) => seen.calls.push(`active ${active}`),
  };
  const extension: ServeExtension = {
    name,
    register(scope, ctx) {
      seen.options = ctx.options;
      seen.ttlMs = ctx.l1.ttlMs;
      ctx.followL1(follower);
      scope.get(`/ext/${name}`, { config: { metricsRoute: 'ext' } }, async () => ({ ok: true }));
    },
  };
  return { extension, seen };
}

let pub: Redis;
beforeAll(() => {
  pub = new Redis(REDIS_URL);
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  pub.disconnect();
});

describe('serve extensions', () => {
  it('mounts the registered plugins’ extensions by default (the API workflow’s route), none with []', async () => {
    expect(registeredServeExtensions().map((e) => e.name)).toContain('api-workflow');
    const payload = { session_id: 's', candidates: [{ method: 'GET', path: '/v1/x' }] };
    const on = await server();
    const res = await on.inject({ method: 'POST', url: '/workflow/rank-features', payload });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('store_unavailable');
    const off = await server({ extensions: [] });
    const none = await off.inject({ method: 'POST', url: '/workflow/rank-features', payload });
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe('not_found');
  });

  it('puts extension routes behind the bearer token and records their metrics', async () => {
    const { extension, seen } = pingExtension();
    const app = await server({
      extensions: [extension],
      authToken: 'tok',
      extensionOptions: { ping: { x: 1 } },
    });
    expect(seen.options).toEqual({ x: 1 });
    expect(seen.ttlMs).toBe(5_000);
    expect((await app.inject({ url: '/ext/ping' })).statusCode).toBe(401);
    const ok = await app.inject({ url: '/ext/ping', headers: { authorization: 'Bearer tok' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ ok: true });
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/feature_serving_requests_total\{route="ext",status="200"\} 1/);
  });

  it('keeps an extension’s follower in step with L1: off until subscribed, then invalidated by key', async () => {
    const channel = `fs-ext-${randomUUID().slice(0, 8)}`;
    const { extension, seen } = pingExtension();
    await server({ extensions: [extension], redisUrl: REDIS_URL, invalidationChannel: channel });
    expect(seen.calls.slice(0, 2)).toEqual(['active false', 'active true']);
    await pub.publish(channel, 'feature:model:m:perf_5min:v1\nfeature:model:n:perf_5min:v1\n');
    for (let i = 0; i < 100 && seen.calls.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.calls[2]).toBe('invalidate feature:model:m:perf_5min:v1,feature:model:n:perf_5min:v1');
  });

  it('gives an extension L1’s TTL only while L1 is on', async () => {
    const { extension, seen } = pingExtension();
    await server({ extensions: [extension], l1: { maxBytes: 0, ttlMs: 5_000 } });
    expect(seen.ttlMs).toBe(0);
  });

  it('refuses duplicate extensions, options of no extension and bad API-workflow options (ConfigError)', async () => {
    const a = pingExtension('a').extension;
    await expect(server({ extensions: [a, a] })).rejects.toThrow(ConfigError);
    await expect(server({ extensions: [a], extensionOptions: { b: {} } })).rejects.toThrow(
      /extensionOptions\.b/,
    );
    await expect(server({ extensionOptions: { 'api-workflow': { embeddingsDir: 5 } } })).rejects.toThrow(
      /embeddingsDir/,
    );
    await expect(server({ extensionOptions: { 'api-workflow': { nope: 1 } } })).rejects.toThrow(ConfigError);
    // Turning prompt embeddings off is an option of the API-workflow extension.
    const app = await server({ extensionOptions: { 'api-workflow': { embeddingsDir: null } } });
    expect(
      (await app.inject({ method: 'POST', url: '/workflow/rank-features', payload: {} })).statusCode,
    ).toBe(503);
  });

  // Last: the bad plugin stays registered in this file's process.
  it('names a plugin whose serve extension is not one', () => {
    registerPlugin({ name: 'bad-serve', extensions: { serve: { name: 'x' } } });
    expect(() => registeredServeExtensions()).toThrow(/plugin bad-serve/);
  });
});
