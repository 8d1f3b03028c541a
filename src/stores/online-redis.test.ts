import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { freePort } from '../shared/free-port.js';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExternalError } from '../shared/errors.js';
import { onlineRow, runOnlineConformance } from './online-conformance.js';
import { INVALIDATE_CHANNEL, RedisOnlineStore } from './online-redis.js';
import { PrivateRedis } from './private-redis.js';

const URL = 'redis://127.0.0.1:6379';

const row = onlineRow;

runOnlineConformance('redis', async (config) => {
  const prefix = `fs-h5-test:${randomUUID()}:`;
  const store = new RedisOnlineStore({ connection: URL, keyPrefix: prefix, ...config });
  return {
    store,
    cleanup: async () => {
      await store.close();
      const admin = new Redis(URL);
      try {
        const keys = await admin.keys(`${prefix}*`);
        if (keys.length > 0) await admin.del(...keys);
      } finally {
        await admin.quit();
      }
    },
  };
});

describe('RedisOnlineStore at start-up: refused at once, or no answer', () => {
  it('a refused connection fails on the first attempt, naming the URL, and is not retried', async () => {
    const port = await freePort(); // nothing listens there
    const s = new RedisOnlineStore({ connection: `redis://127.0.0.1:${port}` });
    try {
      const err = await s.waitReady(60_000, '--online', { refusedIsFinal: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as ExternalError).retryable).toBe(false);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^--online redis://127\\.0\\.0\\.1:${port}: connection refused \\(.*ECONNREFUSED.*\\): no Redis listens there`,
        ),
      );
      expect(s.connectAttempts).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('a listener that never answers is retried with a line while it waits, then fails naming the URL', async () => {
    // Accepts the TCP connection (as the kernel does for a listener that never calls accept) and
    // never reads or answers.
    const silent = createServer({ pauseOnConnect: true });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as AddressInfo).port;
    const s = new RedisOnlineStore({ connection: `redis://:secret@127.0.0.1:${port}` });
    const notices: string[] = [];
    try {
      const err = await s
        .waitReady(1_500, '--online', { refusedIsFinal: true, onWaiting: (m) => notices.push(m) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^--online redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: Redis not reachable within 1500 ms \\(connected, but no answer to the handshake\\): check the host and port`,
        ),
      );
      expect(notices.length).toBeGreaterThan(0);
      expect(notices[0]).toMatch(
        /^still waiting for --online redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: connected, but no answer/,
      );
      expect((err as Error).message).not.toContain('secret');
    } finally {
      await s.close();
      silent.close();
    }
  });
});

describe('RedisOnlineStore', () => {
  let admin: Redis;
  let prefix: string;
  const stores: RedisOnlineStore[] = [];

  function store(options: ConstructorParameters<typeof RedisOnlineStore>[0] = {}): RedisOnlineStore {
    const s = new RedisOnlineStore({ connection: URL, keyPrefix: prefix, ...options });
    stores.push(s);
    return s;
  }

  beforeAll(() => {
    admin = new Redis(URL);
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });

  afterAll(async () => {
    await admin.quit();
  });

  // A fresh prefix per test, so tests never see each other's keys.
  const test = (name: string, fn: () => Promise<void>) =>
    it(name, async () => {
      prefix = `fs-h5-test:${randomUUID()}:`;
      await fn();
    });

  test('uses the spec key layout and sets the group TTL', async () => {
    const s = store({ ttlSecondsByGroup: { fast: 5 } });
    await s.writeRows([onlineRow(), onlineRow({ group: 'fast' })]);
    expect(await admin.exists(`${prefix}feature:model:gpt-4:perf_5min:v1`)).toBe(1);
    const fastTtl = await admin.pttl(`${prefix}feature:model:gpt-4:fast:v1`);
    expect(fastTtl).toBeGreaterThan(0);
    expect(fastTtl).toBeLessThanOrEqual(5000);
    expect(await admin.ttl(`${prefix}feature:model:gpt-4:perf_5min:v1`)).toBeGreaterThan(86_000);
  });

  test('publishes the keys each batch wrote on featurestream:invalidate, one message per batch', async () => {
    const sub = new Redis(URL);
    const messages: string[] = [];
    try {
      await sub.subscribe(INVALIDATE_CHANNEL);
      sub.on('message', (channel: string, message: string) => {
        // Other engineers' tests publish here too: keep ours.
        if (channel === INVALIDATE_CHANNEL && message.startsWith(prefix)) messages.push(message);
      });
      const s = store();
      await s.writeRows([onlineRow({ entityId: 'a' }), onlineRow({ entityId: 'b' })]);
      await s.writeRows([onlineRow({ entityId: 'a' })]); // a replay: nothing written, nothing published
      await s.writeRows([onlineRow({ entityId: 'c', revision: 1 })]);
      await admin.ping(); // a round trip on another connection, so both messages have arrived
      await sub.ping();
      expect(INVALIDATE_CHANNEL).toBe('featurestream:invalidate');
      expect(messages).toEqual([
        `${prefix}feature:model:a:perf_5min:v1\n${prefix}feature:model:b:perf_5min:v1`,
        `${prefix}feature:model:c:perf_5min:v1`,
      ]);
    } finally {
      sub.disconnect();
    }
  });

  test('pipelines a batch of 1000 rows', async () => {
    const s = store({ pipelineSize: 250 });
    const rows = Array.from({ length: 1000 }, (_, i) => row({ entityId: `e${i}`, values: { i } }));
    await s.writeRows(rows);
    expect((await admin.keys(`${prefix}*`)).length).toBe(1000);
    for (const i of [0, 1, 499, 999]) {
      expect((await s.read('model', `e${i}`, 'perf_5min', 1))!.values).toEqual({ i });
    }
  });

  describe('on a private redis-server', () => {
    let redis: PrivateRedis;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
    });

    afterAll(async () => {
      await redis.stop();
    });

    afterEach(async () => {
      await redis.start(); // a test may leave it stopped
    });

    it('loads the script when Redis lost it (NOSCRIPT)', async () => {
      prefix = `fs-h5-test:${randomUUID()}:`;
      const s = new RedisOnlineStore({ connection: redis.url });
      stores.push(s);
      await s.writeRows([row({ entityId: 'first' })]);
      const own = new Redis(redis.url);
      try {
        await own.script('FLUSH');
      } finally {
        own.disconnect();
      }
      await s.writeRows([row()]);
      expect(await s.read('model', 'gpt-4', 'perf_5min', 1)).not.toBeNull();
    });

    it('a write in flight when Redis dies blocks, retries, and completes once Redis is back', async () => {
      prefix = `fs-h5-test:${randomUUID()}:`;
      const retries: number[] = [];
      const s = new RedisOnlineStore({
        connection: redis.url,
        retryDeadlineMs: 60_000,
        pipelineSize: 100,
        onRetry: (_err, attempt) => retries.push(attempt),
      });
      stores.push(s);
      await s.writeRows([row({ entityId: 'warm-up' })]);
      // Pause writes on the server, so the batch below is certainly in flight when it dies.
      const own = new Redis(redis.url);
      try {
        await own.call('CLIENT', 'PAUSE', '60000', 'WRITE');
      } finally {
        own.disconnect();
      }
      const rows = Array.from({ length: 2_000 }, (_, i) => row({ entityId: `m${i}`, values: { i } }));
      let settled = false;
      const writing = s.writeRows(rows).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(settled).toBe(false); // paused: it cannot have completed
      await redis.stop();
      await new Promise((r) => setTimeout(r, 500));
      expect(settled).toBe(false); // down: it cannot have completed
      await redis.start(); // empty: no data, no script cache
      await writing;
      expect(retries.length).toBeGreaterThan(0);
      const check = new Redis(redis.url);
      try {
        expect(await check.dbsize()).toBe(2_000);
      } finally {
        check.disconnect();
      }
      for (const i of [0, 999, 1_999]) {
        expect((await s.read('model', `m${i}`, 'perf_5min', 1))!.values).toEqual({ i });
      }
    });

    it('writeRows throws a retryable ExternalError once the retry deadline passes', async () => {
      await redis.stop();
      const s = new RedisOnlineStore({ connection: redis.url, retryDeadlineMs: 400 });
      stores.push(s);
      const err = await s.writeRows([row()]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as ExternalError).retryable).toBe(true);
    });

    it('waitReady fails with an ExternalError naming the flag when Redis is down', async () => {
      await redis.stop();
      const s = new RedisOnlineStore({ connection: redis.url });
      stores.push(s);
      const err = await s.waitReady(300, '--online').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as Error).message).toMatch(
        /^--online redis:\/\/127\.0\.0\.1:\d+\/?: Redis not reachable within 300 ms \(/,
      );
    });
  });
});
