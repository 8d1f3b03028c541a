import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { ExternalError } from '../errors.js';
import { RedisOnlineStore } from './online-redis.js';

const URL = 'redis://127.0.0.1:6379';

function row(overrides: Partial<FeatureRow> = {}): FeatureRow {
  return {
    group: 'perf_5min',
    entityType: 'model',
    entityId: 'gpt-4',
    version: 1,
    windowStart: 0,
    windowEnd: 300_000,
    eventTime: 299_999,
    revision: 0,
    values: { latency_p95_5min: 812, error_rate_5min: null },
    ...overrides,
  };
}

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
      prefix = `fs-test:${randomUUID()}:`;
      await fn();
    });

  test('writes and reads a row, null values read back as null', async () => {
    const s = store();
    await s.writeRows([row()]);
    const v = await s.read('model', 'gpt-4', 'perf_5min', 1);
    expect(v).not.toBeNull();
    expect(v!.values).toEqual({ latency_p95_5min: 812, error_rate_5min: null });
    expect(v!.eventTime).toBe(299_999);
    expect(v!.revision).toBe(0);
    expect(v!.computedAt).toBeGreaterThan(0);
    expect(await admin.exists(`${prefix}feature:model:gpt-4:perf_5min:v1`)).toBe(1);
    expect(await s.read('model', 'gpt-4', 'perf_5min', 2)).toBeNull();
    expect(await s.read('model', 'other', 'perf_5min', 1)).toBeNull();
  });

  test('newer wins: an older row is ignored, a newer one replaces', async () => {
    const s = store();
    await s.writeRows([row({ eventTime: 599_999, values: { n: 2 } })]);
    await s.writeRows([row({ eventTime: 299_999, values: { n: 1 } })]);
    expect((await s.read('model', 'gpt-4', 'perf_5min', 1))!.values).toEqual({ n: 2 });
    await s.writeRows([row({ eventTime: 899_999, values: { n: 3 } })]);
    const v = await s.read('model', 'gpt-4', 'perf_5min', 1);
    expect(v!.values).toEqual({ n: 3 });
    expect(v!.eventTime).toBe(899_999);
    // Within one batch too: order in the batch does not matter.
    await s.writeRows([
      row({ eventTime: 1_199_999, values: { n: 5 } }),
      row({ eventTime: 999_999, values: { n: 4 } }),
    ]);
    expect((await s.read('model', 'gpt-4', 'perf_5min', 1))!.values).toEqual({ n: 5 });
  });

  test('a higher revision at the same event time replaces; the same or lower does not', async () => {
    const s = store();
    await s.writeRows([row({ revision: 0, values: { n: 1 } })]);
    await s.writeRows([row({ revision: 1, values: { n: 2 } })]);
    expect((await s.read('model', 'gpt-4', 'perf_5min', 1))!.values).toEqual({ n: 2 });
    await s.writeRows([row({ revision: 1, values: { n: 9 } }), row({ revision: 0, values: { n: 8 } })]);
    const v = await s.read('model', 'gpt-4', 'perf_5min', 1);
    expect(v!.values).toEqual({ n: 2 });
    expect(v!.revision).toBe(1);
  });

  test('TTL per group: an expired value is reported missing; writes refresh the TTL', async () => {
    const s = store({ ttlSecondsByGroup: { fast: 1 } });
    await s.writeRows([row({ group: 'fast' }), row({ group: 'slow' })]);
    const fastTtl = await admin.pttl(`${prefix}feature:model:gpt-4:fast:v1`);
    const slowTtl = await admin.ttl(`${prefix}feature:model:gpt-4:slow:v1`);
    expect(fastTtl).toBeGreaterThan(0);
    expect(fastTtl).toBeLessThanOrEqual(1000);
    expect(slowTtl).toBeGreaterThan(86_000);
    expect(await s.read('model', 'gpt-4', 'fast', 1)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1_300));
    expect(await s.read('model', 'gpt-4', 'fast', 1)).toBeNull();
    expect(await s.read('model', 'gpt-4', 'slow', 1)).not.toBeNull();
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

  test('loads the script when Redis lost it (NOSCRIPT)', async () => {
    const s = store();
    await admin.script('FLUSH');
    await s.writeRows([row()]);
    expect(await s.read('model', 'gpt-4', 'perf_5min', 1)).not.toBeNull();
  });

  describe('outage', () => {
    let port: number;
    let server: ChildProcess | null = null;

    async function startServer(): Promise<void> {
      server = spawn(
        'redis-server',
        ['--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
        {
          stdio: 'ignore',
        },
      );
      await waitForPort(port);
    }

    async function stopServer(): Promise<void> {
      const proc = server;
      server = null;
      if (proc === null || proc.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    }

    beforeAll(async () => {
      port = await freePort();
    });

    afterEach(async () => {
      await stopServer();
    });

    it('writeRows waits through an outage and succeeds once Redis is back', async () => {
      prefix = `fs-test:${randomUUID()}:`;
      await startServer();
      const s = new RedisOnlineStore({ connection: `redis://127.0.0.1:${port}`, retryDeadlineMs: 30_000 });
      stores.push(s);
      await s.writeRows([row({ entityId: 'before' })]);
      expect(await s.read('model', 'before', 'perf_5min', 1)).not.toBeNull();

      await stopServer();
      let settled = false;
      const writing = s
        .writeRows([row({ entityId: 'a' }), row({ entityId: 'b', values: { n: 7 } })])
        .finally(() => {
          settled = true;
        });
      await new Promise((r) => setTimeout(r, 800));
      expect(settled).toBe(false);

      await startServer(); // empty: no data, no script cache
      await writing;
      expect((await s.read('model', 'a', 'perf_5min', 1))!.values).toEqual({
        latency_p95_5min: 812,
        error_rate_5min: null,
      });
      expect((await s.read('model', 'b', 'perf_5min', 1))!.values).toEqual({ n: 7 });
    });

    it('writeRows throws ExternalError once the retry deadline passes', async () => {
      const s = new RedisOnlineStore({ connection: `redis://127.0.0.1:${port}`, retryDeadlineMs: 400 });
      stores.push(s);
      const started = Date.now();
      const err = await s.writeRows([row()]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as ExternalError).retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = new Socket();
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
      sock.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
