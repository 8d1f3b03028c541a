/**
 * Monitoring that ships: the Prometheus rules pass `promtool check rules`; every metric the
 * Grafana dashboard and the rules query is one the code registers; `run --metrics-port` exposes
 * the run's metrics while it runs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DriftMonitor } from '../src/drift/monitor.js';
import { freePort } from '../src/shared/free-port.js';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { RunMetrics } from '../src/monitoring/run-metrics.js';
import { createKafkaMetrics } from '../src/runtime/kafka/metrics.js';
import { createServer } from '../src/serve/server.js';
import { ROOT, sleep, startCli, tempDir } from './support.js';
import { featureSetOf } from '../src/registry/feature-set.js';

const RULES = join(ROOT, 'monitoring/prometheus-rules.yml');
const DASHBOARD = join(ROOT, 'monitoring/grafana-dashboard.json');

/** Names of the metrics a Prometheus text exposition declares. */
function declared(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!));
}

/** Every metric name the code registers: run, drift, serving (with quality) and Kafka. */
async function registeredNames(): Promise<Set<string>> {
  const run = new RunMetrics({ featureSet: featureSetOf() });
  new DriftMonitor({ groups: ['perf_5min'], currentMs: 1, reference: { trailingMs: 1 } }).registerMetrics(
    run.registry,
  );
  const names = declared(await run.registry.metrics());
  for (const n of declared(await createKafkaMetrics(new Registry()).registry.metrics())) names.add(n);
  const app = await createServer({
    featureSet: featureSetOf(),
    online: null,
    offline: null,
    redisUrl: null,
    l1: { maxBytes: 1024, ttlMs: 1 },
  });
  try {
    for (const n of declared((await app.inject({ url: '/metrics' })).body)) names.add(n);
  } finally {
    await app.close();
  }
  return names;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
]);

/** The metric names a PromQL expression reads. */
function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ');
  const out: string[] = [];
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    if (m[1] !== undefined) continue; // a function
    if (KEYWORDS.has(m[0])) continue;
    out.push(m[0]);
  }
  return out;
}

function exprsOfDashboard(): string[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

function exprsOfRules(): string[] {
  return [...readFileSync(RULES, 'utf8').matchAll(/expr: (\|\n((?: {10}.*\n)+)|.*)/g)].map((m) =>
    (m[2] ?? m[1]!).trim(),
  );
}

describe('monitoring', () => {
  it('promtool check rules passes', () => {
    const out = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: 13 rules found/);
  });

  it('promtool test rules: the SLA alerts fire on synthetic series (and not before their time)', () => {
    const out = execFileSync(
      'promtool',
      ['test', 'rules', join(ROOT, 'monitoring/prometheus-rules.test.yml')],
      {
        encoding: 'utf8',
      },
    );
    expect(out).toMatch(/SUCCESS/);
  });

  it('the dashboard and the rules query only registered metrics, and cover the spec’s', async () => {
    const names = await registeredNames();
    const known = (n: string) => names.has(n) || names.has(n.replace(/_(bucket|sum|count)$/, ''));
    const dash = exprsOfDashboard();
    const rules = exprsOfRules();
    expect(dash.length).toBeGreaterThan(20);
    expect(rules).toHaveLength(13);
    expect(metricsOf('sum by (le) (rate(a_b_bucket{x="y"}[5m])) / on(z) c')).toEqual(['a_b_bucket', 'c']);
    const used = new Set([...dash, ...rules].flatMap(metricsOf));
    expect([...used].filter((n) => !known(n))).toEqual([]);
    // Every metric of the spec, with its unit in the name, is registered and on the dashboard.
    const spec = [
      'featurestream_events_total',
      'featurestream_dead_letters_total',
      'featurestream_late_events_total',
      'featurestream_watermark_lag_seconds',
      'featurestream_kafka_consumer_lag',
      'featurestream_shard_records_total',
      'featurestream_shard_processing_seconds',
      'featurestream_window_firings_total',
      'featurestream_state_size_bytes',
      'featurestream_checkpoint_duration_seconds',
      'featurestream_checkpoint_size_bytes',
      'featurestream_checkpoint_failures_total',
      'featurestream_sink_write_duration_seconds',
      'featurestream_sink_retries_total',
      'featurestream_sink_batch_rows',
      'featurestream_invalid_values_total',
      'feature_serving_latency_ms',
      'feature_cache_hits_total',
      'feature_serving_errors_total',
      'feature_drift_score',
      'feature_drift_alerts_total',
      'feature_quality_score',
    ];
    expect(spec.filter((n) => !names.has(n))).toEqual([]);
    const onDashboard = new Set(
      [...dash].flatMap(metricsOf).map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    );
    expect(spec.filter((n) => !onDashboard.has(n))).toEqual([]);
  });

  it('run --metrics-port serves the run’s metrics while it runs', async () => {
    const dir = tempDir('fs-metrics-');
    const input = join(dir, 'events.ndjson');
    await writePerfEvents(input, { events: 60_000, seed: 5, models: 4 });
    const port = await freePort();
    const child = startCli([
      'run',
      '--topology',
      'llm-perf',
      '--input',
      input,
      '--out',
      join(dir, 'rows.ndjson'),
      '--state-dir',
      join(dir, 'state'),
      '--workers',
      '1',
      '--checkpoint-interval',
      '20',
      '--batch-lines',
      '256',
      '--metrics-port',
      String(port),
      '--drift',
      'perf_5min',
      '--drift-current',
      '30m',
      '--drift-delay',
      '10m',
      '--drift-min-samples',
      '3',
    ]);
    let text = '';
    let finished = false;
    void child.result.then(() => {
      finished = true;
    });
    // Scrape until the run has read events, written rows and committed a checkpoint.
    while (!finished) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        text = await res.text();
        if (/^featurestream_checkpoints_total [1-9]/m.test(text) && /^featurestream_rows_total\{/m.test(text))
          break;
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    const r = await child.result;
    expect(r.code, `signal ${r.signal ?? 'none'}\n${r.stderr}`).toBe(0);
    expect(text).toMatch(/^featurestream_events_total [1-9]\d*/m);
    expect(text).toMatch(/^featurestream_rows_total\{group="perf_5min"\} \d+/m);
    expect(text).toMatch(/^featurestream_watermark_lag_seconds\{partition="0"\} \d/m);
    expect(text).toMatch(/^featurestream_shard_processing_seconds_bucket\{le="\+Inf",shard="\d+"\} [1-9]/m);
    expect(text).toMatch(/^featurestream_checkpoint_duration_seconds_count [1-9]/m);
    expect(text).toMatch(/^featurestream_state_size_bytes [1-9]/m);
    expect(text).toMatch(/^# TYPE feature_drift_score gauge/m);
  });
});
