/**
 * The topology page of a Kafka run (issue 13) against the project's test broker (test/kafka/mockbroker): two
 * members of one group, each with `--ui-port`, each serve their own page. `GET /api/metrics` of
 * each says which source partitions and shards it owns (together all of them, none twice) and
 * its consumer lag per owned partition; the page (headless Chromium, playwright-core) shows the
 * same, without console errors. Screenshot in test-artifacts/ui/kafka-member.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../stores-support.js';
import { ROOT, tempDir } from '../support.js';
import {
  KAFKA_ENTRY,
  produce,
  type RunnerChild,
  startBroker,
  startRunner,
  type TestBroker,
} from './broker.js';

const TOPIC = 'ui-events';
const dir = tempDir('fs-kafka-ui-');
const ARTEFACTS = join(ROOT, 'test-artifacts', 'ui');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
let broker: TestBroker;
const members: { runner: RunnerChild; port: number }[] = [];

interface KafkaPart {
  group: string;
  member: string;
  partitions: number[];
  shards: number[];
  lag: { topic: string; partition: number; lag: number }[];
}
const metricsOf = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/api/metrics`).then((r) => r.json())) as {
    status: string;
    eventsRead: number;
    kafka?: KafkaPart;
  };

let produced = 0;
const events = (n: number): Message[] =>
  Array.from({ length: n }, () => {
    const i = produced++;
    const ts = Date.UTC(2025, 0, 15) + i * 1000;
    return {
      key: `e-${i}`,
      value: JSON.stringify({
        type: 'performance_metrics',
        id: `e-${i}`,
        timestamp: new Date(ts).toISOString(),
        request_id: `r-${i}`,
        model: ['gpt-4o', 'claude-3-5-sonnet', 'llama-3-70b'][i % 3],
        config_id: null,
        latency_ms: 200 + (i % 1000),
        input_tokens: 100,
        output_tokens: 50,
        cost: 0.001,
        quality_score: 0.5,
        error: null,
        metrics: { retries: 0, ttft_ms: 100 },
      }),
    };
  });

async function member(tag: string): Promise<{ runner: RunnerChild; port: number }> {
  const runner = startRunner([
    KAFKA_ENTRY,
    'run',
    '--topology',
    'llm-perf',
    '--kafka',
    broker.bootstrap,
    '--topic',
    TOPIC,
    '--group',
    'ui-group',
    '--out',
    join(dir, `rows-${tag}`),
    '--state-dir',
    join(dir, `state-${tag}`),
    '--workers',
    '1',
    '--checkpoint-interval',
    '300',
    '--fetch-max-wait',
    '100',
    '--session-timeout',
    '5000',
    '--heartbeat-interval',
    '500',
    '--ui-port',
    '0',
    '--log-level',
    'info',
  ]);
  const port = await waitFor(`member ${tag}'s page`, () => {
    const m = /topology page: http:\/\/127\.0\.0\.1:(\d+)\//.exec(runner.stderr());
    return m === null ? undefined : Number(m[1]);
  });
  return { runner, port };
}

beforeAll(async () => {
  mkdirSync(ARTEFACTS, { recursive: true });
  broker = await startBroker(1, [`${TOPIC}:4`]);
  await produce(broker, TOPIC, events(2000));
  members.push(await member('a'));
  members.push(await member('b'));
}, 120_000);

afterAll(async () => {
  for (const m of members) m.runner.child.kill('SIGTERM');
  for (const m of members) await m.runner.result;
  await broker?.stop();
});

describe('run --kafka --ui-port', () => {
  it('each member serves its own page: owned partitions and shards, lag per partition', async () => {
    // Both members joined and split the partitions (the first one alone owns all until then).
    const owned = await waitFor('the group to settle on two members', async () => {
      const ks = await Promise.all(members.map(async (m) => (await metricsOf(m.port)).kafka));
      if (ks.some((k) => k === undefined || k.partitions.length === 0)) return undefined;
      const all = ks.flatMap((k) => k!.partitions).sort();
      return all.join(',') === '0,1,2,3' ? (ks as KafkaPart[]) : undefined;
    });
    expect(owned.map((k) => k.group)).toEqual(['ui-group', 'ui-group']);
    expect(owned[0]!.member).not.toBe(owned[1]!.member);
    const shards = owned.flatMap((k) => k.shards).sort((a, b) => a - b);
    expect(new Set(shards).size).toBe(shards.length);
    // New records on every partition: each owner reports the lag of each partition it owns.
    await produce(broker, TOPIC, events(2000));
    const caughtUp = await waitFor('every owned partition to report its lag, caught up', async () => {
      const ms = await Promise.all(members.map((m) => metricsOf(m.port)));
      for (const m of ms) {
        const k = m.kafka!;
        const src = k.lag.filter((x) => x.topic === TOPIC);
        if (src.map((x) => x.partition).join(',') !== k.partitions.join(',')) return undefined;
        if (src.some((x) => x.lag !== 0)) return undefined;
        if (k.lag.some((x) => x.topic !== TOPIC && !k.shards.includes(x.partition))) return undefined;
      }
      return ms;
    });
    expect(caughtUp.reduce((a, m) => a + m.eventsRead, 0)).toBeGreaterThanOrEqual(2000);
    expect(caughtUp.every((m) => m.status === 'running')).toBe(true);
  }, 120_000);

  it.skipIf(!existsSync(CHROMIUM))(
    'the page shows what the member owns and its lag, without console errors',
    async () => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu'],
      });
      try {
        const { port } = members[0]!;
        const k = (await metricsOf(port)).kafka!;
        const page = await browser.newPage({ viewport: { width: 1600, height: 1150 } });
        const errors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForFunction(
          `document.body.dataset.kafkaPartitions === ${JSON.stringify(k.partitions.join(','))}`,
        );
        expect(await page.locator('#kafka-section').isVisible()).toBe(true);
        expect((await page.locator('#kafka').textContent()) ?? '').toContain(`partitions of ${TOPIC}`);
        expect(await page.locator('#lag tbody tr').count()).toBe(k.lag.length);
        await page.screenshot({ path: join(ARTEFACTS, 'kafka-member.png'), fullPage: true });
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
