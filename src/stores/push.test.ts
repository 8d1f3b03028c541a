import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { tempDir } from '../../test/support.js';
import type { DeadLetterRecord, LateRecord, RowSink } from '../runtime/sink.js';
import { ExternalError } from '../shared/errors.js';
import { type DirLock, LOCK_FILE, lockDir } from './dir-lock.js';
import {
  findPushEndpoint,
  PUSH_FILE,
  type PushEndpoint,
  PushSink,
  type PushTarget,
  startPushEndpoint,
} from './push.js';

const row = (entityId: string, version = 2): FeatureRow => ({
  group: 'perf_5min',
  entityType: 'model',
  entityId,
  version,
  windowStart: 0,
  windowEnd: 300_000,
  eventTime: 299_999,
  revision: 0,
  values: { latency_p50_5min: 12.5, success_rate_5min: null },
});

/** A sink that keeps what it was given, in order, with its flushes (the server's side of a push). */
class RecordingSink implements RowSink {
  readonly events: string[] = [];
  constructor(readonly name: string) {}
  async write(rows: readonly FeatureRow[]): Promise<void> {
    this.events.push(`write ${rows.map((r) => r.entityId).join(',')}`);
  }
  async writeDeadLetters(entries: readonly DeadLetterRecord[]): Promise<void> {
    this.events.push(`dead letters ${entries.map((e) => `${e.line}:${e.reason}`).join(',')}`);
  }
  async writeLate(entries: readonly LateRecord[]): Promise<void> {
    this.events.push(`late ${entries.map((e) => `${e.line}:${e.window}`).join(',')}`);
  }
  async flush(): Promise<void> {
    this.events.push('flush');
  }
  async close(): Promise<void> {
    this.events.push('close');
  }
}

const open: { endpoint: PushEndpoint; locks: DirLock[] }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.endpoint.close();
    for (const l of o.locks) l.release();
  }
});

async function start(onWritten?: (rows: readonly FeatureRow[]) => void) {
  const dirs = [tempDir('fs-push-'), tempDir('fs-push-')];
  const locks = dirs.map((d) => lockDir(d, 'store dir'));
  const online = new RecordingSink('online');
  const offline = new RecordingSink('offline');
  const asked: [string, readonly PushTarget[]][] = [];
  const endpoint = await startPushEndpoint({
    dirs,
    logger: pino({ level: 'silent' }),
    ...(onWritten === undefined ? {} : { onWritten }),
    sinksFor: (topology, targets) => {
      asked.push([topology, targets]);
      return targets.map((t) => (t === 'online' ? online : offline));
    },
  });
  open.push({ endpoint, locks });
  return { dirs, endpoint, online, offline, asked };
}

describe('the push path', () => {
  it('announces itself beside each lock (0600), and a PushSink writes and flushes through it', async () => {
    const { dirs, endpoint, online, offline, asked } = await start();
    for (const d of dirs) {
      const a = findPushEndpoint(d);
      expect(a?.url).toBe(endpoint.url);
      expect(a?.pid).toBe(process.pid);
      expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/push$/);
      expect(statSync(join(d, PUSH_FILE)).mode & 0o777).toBe(0o600);
    }
    const sink = new PushSink(findPushEndpoint(dirs[0]!)!, 'llm-perf', ['online', 'offline']);
    await sink.write([row('gpt-4o'), row('claude-3-haiku')]);
    await sink.write([row('gpt-4o-mini')]);
    expect(asked).toEqual([
      ['llm-perf', ['online', 'offline']],
      ['llm-perf', ['online', 'offline']],
    ]);
    // Each push is written, then flushed, before it is answered.
    expect(online.events).toEqual(['write gpt-4o,claude-3-haiku', 'flush', 'write gpt-4o-mini', 'flush']);
    expect(offline.events).toEqual(online.events);
    // Closing removes the announcements and leaves the sinks (the stores' owner closes them).
    await endpoint.close();
    for (const d of dirs) expect(existsSync(join(d, PUSH_FILE))).toBe(false);
    expect(online.events).not.toContain('close');
    await expect(sink.write([row('x')])).rejects.toThrow(ExternalError);
  });

  it('refuses a wrong token (401), a body that is not rows (400) and other routes (404)', async () => {
    const { endpoint, online } = await start();
    const post = (body: unknown, token?: string) =>
      fetch(endpoint.url, {
        method: 'POST',
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const good = { topology: 't', targets: ['online'], rows: [row('a')] };
    expect((await post(good)).status).toBe(401);
    expect((await post(good, 'nope')).status).toBe(401);
    const token = JSON.parse(readFileSync(join(open[0]!.locks[0]!.dir, PUSH_FILE), 'utf8')).token as string;
    for (const bad of [
      { ...good, rows: [{ ...row('a'), version: 'two' }] },
      { ...good, rows: [{ ...row('a'), values: { x: 'high' } }] },
      { ...good, targets: ['elsewhere'] },
      { ...good, topology: '' },
      { ...good, rows: 'all of them' },
    ]) {
      const r = await post(bad, token);
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
    expect(online.events).toEqual([]);
    expect((await fetch(endpoint.url.replace(/push$/, 'other'))).status).toBe(404);
    expect((await post(good, token)).status).toBe(200);
    expect(online.events).toEqual(['write a', 'flush']);
  });

  it('carries dead letters and late records to the stores that keep them, and refuses malformed ones (400)', async () => {
    const { dirs, endpoint, online, offline } = await start();
    const sink = new PushSink(findPushEndpoint(dirs[0]!)!, 'llm-perf', ['online', 'offline']);
    const dl: DeadLetterRecord = {
      source: '/data/in.ndjson',
      position: 1042,
      line: 17,
      reason: 'not_json',
      detail: 'not JSON: unexpected end',
      raw: '{"type":',
    };
    const late: LateRecord = {
      source: '/data/in.ndjson',
      position: 2048,
      line: 30,
      window: 'perf_5min',
      group: 'perf_5min',
      eventTime: 1_700_000_000_000,
      raw: '{"type":"performance_metrics"}',
    };
    await sink.writeDeadLetters([dl]);
    await sink.writeLate([late, { ...late, line: 31 }]);
    await sink.writeDeadLetters([]);
    expect(offline.events).toEqual([
      'dead letters 17:not_json',
      'flush',
      'late 30:perf_5min,31:perf_5min',
      'flush',
    ]);
    expect(online.events).toEqual(offline.events);
    const token = JSON.parse(readFileSync(join(dirs[0]!, PUSH_FILE), 'utf8')).token as string;
    const post = (body: unknown) =>
      fetch(endpoint.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const base = { topology: 't', targets: ['offline'], rows: [] };
    const bad = [
      { ...base, deadLetters: 'some' },
      { ...base, deadLetters: [{ ...dl, line: 'seventeen' }] },
      { ...base, late: [{ ...late, eventTime: null }] },
      { ...base, late: [null] },
    ];
    for (const b of bad) {
      const r = await post(b);
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(/deadLetters|dead letter|late record/);
    }
    expect(offline.events).toHaveLength(4);
  });

  it('tells its owner once a push is durable, before answering (serve drops its L1 there)', async () => {
    const told: string[] = [];
    const { dirs, online } = await start((rows) => told.push(`${online.events.join(' ')} | ${rows.length}`));
    const sink = new PushSink(findPushEndpoint(dirs[0]!)!, 'llm-perf', ['online']);
    await sink.write([row('gpt-4o'), row('claude-3-haiku')]);
    // Called after the write and the flush, and before the writer got its answer.
    expect(told).toEqual(['write gpt-4o,claude-3-haiku flush | 2']);
  });

  it('is not found for a store whose lock another process holds, or that has no lock', async () => {
    const { dirs } = await start();
    const d = dirs[0]!;
    const text = readFileSync(join(d, LOCK_FILE), 'utf8');
    writeFileSync(join(d, LOCK_FILE), text.replace(/"pid":\d+/, '"pid":1'));
    expect(findPushEndpoint(d)).toBeNull();
    writeFileSync(join(d, LOCK_FILE), text);
    expect(findPushEndpoint(d)).not.toBeNull();
    expect(findPushEndpoint(tempDir('fs-push-'))).toBeNull();
  });
});
