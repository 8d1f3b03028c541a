import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.js';
import { decodeLine } from '../events/decode.js';
import { EVENT_TYPES } from '../events/types.js';
import { type LlmLine, generateLlmEvents, generateLlmLines, writeLlmEvents } from './llm-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Body = Record<string, unknown>;
const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Parsed {
  readonly l: LlmLine;
  readonly b: Body;
  readonly ts: number;
  readonly index: number;
}

describe('generateLlmEvents, a 20 000-record stream', () => {
  const opts = { events: 20_000, seed: 7 };
  const lines: LlmLine[] = [...generateLlmLines(opts)];
  const good: Parsed[] = [];
  lines.forEach((l, index) => {
    if (l.ts !== null) good.push({ l, b: JSON.parse(l.line) as Body, ts: l.ts, index });
  });
  const ofType = (t: string) => good.filter((p) => p.l.type === t);
  const onTime = good.filter((p) => p.l.kind === 'event');

  it('is deterministic for a seed, differs across seeds, and a shorter stream is a prefix', () => {
    const again = [...generateLlmEvents(opts)];
    expect(again.join('\n')).toBe(lines.map((l) => l.line).join('\n'));
    const other = [...generateLlmEvents({ ...opts, seed: 8 })];
    expect(other).toHaveLength(20_000);
    expect(other.slice(0, 200)).not.toEqual(again.slice(0, 200));
    expect([...generateLlmEvents({ ...opts, events: 3000 })]).toEqual(again.slice(0, 3000));
  });

  it('holds every event type', () => {
    const types = new Set(good.map((p) => p.l.type));
    expect([...types].sort()).toEqual([...EVENT_TYPES].sort());
    const counts = Object.fromEntries(EVENT_TYPES.map((t) => [t, ofType(t).length]));
    console.log('type mix (20 000 records):', JSON.stringify(counts));
    expect(counts.api_call).toBeGreaterThan(20);
    expect(counts.experiment_result).toBeGreaterThan(10);
  });

  it('decodes every line except exactly the intended bad ones, each with its reason', () => {
    let rejected = 0;
    const reasons = new Set<string>();
    for (const l of lines) {
      const r = decodeLine(l.line);
      if (l.ts === null) {
        rejected++;
        reasons.add(l.kind);
        expect(r.ok ? 'ok' : r.reason, l.line).toBe(l.kind);
      } else {
        expect(r.ok, `${r.ok ? '' : r.detail}: ${l.line}`).toBe(true);
        if (r.ok) {
          expect(r.event.type).toBe(l.type);
          expect(r.event.ts).toBe(l.ts);
        }
      }
    }
    // default badFraction 0.002 of 20 000
    expect(rejected).toBeGreaterThan(15);
    expect(rejected).toBeLessThan(80);
    expect(reasons).toEqual(
      new Set([
        'not_json',
        'unknown_type',
        'missing_field',
        'wrong_type',
        'out_of_range',
        'bad_timestamp',
        'non_finite',
      ]),
    );
    const rating9 = lines.filter((l) => l.kind === 'out_of_range' && l.line.includes('"rating":9'));
    expect(rating9.length).toBeGreaterThan(0);
    console.log(`bad lines: ${rejected} of ${lines.length}`);
  });

  it('has the collector shape: UUID ids, RFC 3339 times (some with 9 digits), integer memory_usage', () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const p of good) expect(p.b.id).toMatch(uuid);
    const stamps = good.map((p) => p.b.timestamp as string);
    const nine = stamps.filter((s) => /\.\d{9}Z$/.test(s)).length;
    const three = stamps.filter((s) => /\.\d{3}Z$/.test(s)).length;
    expect(nine).toBeGreaterThan(good.length / 10);
    expect(three).toBeGreaterThan(good.length / 10);
    for (const p of ofType('system_health')) {
      if (p.b.memory_usage !== null) expect(Number.isInteger(p.b.memory_usage)).toBe(true);
    }
    // serde writes integral floats with ".0"
    expect(lines.some((l) => l.line.includes('"retries":0.0'))).toBe(true);
  });

  it('gives each request a model_response and a performance_metrics with its request_id, after it', () => {
    const requests = new Map<string, Parsed>();
    for (const p of ofType('llm_request')) requests.set(p.b.request_id as string, p);
    expect(requests.size).toBe(ofType('llm_request').length);
    const responses = new Map<string, Parsed>();
    const metrics = new Map<string, Parsed>();
    for (const [type, into] of [
      ['model_response', responses],
      ['performance_metrics', metrics],
    ] as const) {
      for (const p of ofType(type)) {
        const id = p.b.request_id as string;
        expect(into.has(id), `duplicate ${type} for ${id}`).toBe(false);
        into.set(id, p);
        const req = requests.get(id);
        expect(req, `${type} without request`).toBeDefined();
        expect(req!.index).toBeLessThan(p.index);
        expect(p.ts).toBeGreaterThanOrEqual(req!.ts);
        if (req!.b.model !== undefined) expect(p.b.model).toBe(req!.b.model);
        if (type === 'model_response') expect(p.b.session_id).toBe(req!.b.session_id);
      }
    }
    // Without late records, only requests whose completion lies past the end of the stream
    // have no response.
    const noLate = [...generateLlmLines({ ...opts, lateFraction: 0 })];
    const answered = new Set<string>();
    const asked: Array<[string, number]> = [];
    noLate.forEach((l, i) => {
      if (l.ts === null) return;
      const b = JSON.parse(l.line) as Body;
      if (l.type === 'llm_request') asked.push([b.request_id as string, i]);
      if (l.type === 'model_response') answered.add(b.request_id as string);
    });
    const missing = asked.filter(([id]) => !answered.has(id));
    for (const [, i] of missing) expect(noLate.length - i).toBeLessThan(1000);
    expect(missing.length / asked.length).toBeLessThan(0.02);
    expect(responses.size).toBeGreaterThan(0.97 * requests.size);
    expect(metrics.size).toBeGreaterThan(0.97 * requests.size);
  });

  it('prices each request from the catalog in force, and models differ in latency and cost', () => {
    const catalog = ofType('model_catalog').sort((a, b) => a.ts - b.ts);
    const models = new Set(catalog.map((c) => c.b.model as string));
    expect(models.size).toBe(6);
    // one model_catalog per model opens the stream; some updates come later
    expect(lines.slice(0, 6).map((l) => l.type)).toEqual(Array(6).fill('model_catalog'));
    expect(catalog.length).toBeGreaterThan(6);
    const requestTs = new Map(ofType('llm_request').map((p) => [p.b.request_id as string, p.ts]));
    let checked = 0;
    for (const p of ofType('performance_metrics')) {
      const t = requestTs.get(p.b.request_id as string)!;
      const inForce = catalog.filter((c) => c.b.model === p.b.model && c.ts <= t);
      const price = inForce.at(-1)!.b;
      if (inForce.length > 1 && inForce.at(-1)!.ts === t) continue; // an update in the same ms
      const expected =
        ((p.b.input_tokens as number) * (price.cost_per_1k_input as number) +
          (p.b.output_tokens as number) * (price.cost_per_1k_output as number)) /
        1000;
      expect(Math.abs((p.b.cost as number) - expected)).toBeLessThanOrEqual(1e-8);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);

    const ok = ofType('performance_metrics').filter((p) => p.b.error === null);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const of = (m: string, f: string) =>
      median(ok.filter((p) => p.b.model === m).map((p) => p.b[f] as number));
    expect(of('claude-3-5-sonnet', 'cost')).toBeGreaterThan(5 * of('gpt-4o-mini', 'cost'));
    expect(of('claude-3-5-sonnet', 'latency_ms')).toBeGreaterThan(1.3 * of('claude-3-haiku', 'latency_ms'));
    // heavy tail: p99 well above the median
    const all = ok.map((p) => p.b.latency_ms as number).sort((a, b) => a - b);
    expect(all[Math.floor(all.length * 0.99)]!).toBeGreaterThan(4 * median(all));
  });

  it('has errors, timeouts among them, and retries', () => {
    const perf = ofType('performance_metrics');
    const errors = perf.filter((p) => p.b.error !== null);
    expect(errors.length / perf.length).toBeGreaterThan(0.005);
    expect(errors.length / perf.length).toBeLessThan(0.08);
    const timeouts = errors.filter((p) => (p.b.error as string).includes('timeout'));
    expect(timeouts.length).toBeGreaterThan(0);
    for (const p of timeouts) expect(p.b.latency_ms as number).toBeGreaterThanOrEqual(30_000);
    expect(errors.some((p) => !(p.b.error as string).includes('timeout'))).toBe(true);
    const retries = new Set(perf.map((p) => (p.b.metrics as { retries: number }).retries));
    expect(retries.has(0) && retries.has(1) && retries.has(2)).toBe(true);
  });

  it('sends feedback for a share of requests, after them (seconds to ~8 min), out of order', () => {
    const requests = new Map(ofType('llm_request').map((p) => [p.b.request_id as string, p]));
    const feedback = ofType('user_feedback');
    expect(feedback.length / requests.size).toBeGreaterThan(0.15);
    expect(feedback.length / requests.size).toBeLessThan(0.6);
    let disordered = 0;
    let maxSeen = Number.NEGATIVE_INFINITY;
    const lags: number[] = [];
    for (const p of good) {
      if (p.l.type === 'user_feedback') {
        const req = requests.get(p.b.request_id as string);
        expect(req).toBeDefined();
        expect(req!.index).toBeLessThan(p.index);
        expect(p.b.session_id).toBe(req!.b.session_id);
        expect(p.ts).toBeGreaterThan(req!.ts);
        lags.push(p.ts - req!.ts);
        if (p.l.kind === 'event' && p.ts < maxSeen) disordered++;
        const m = p.b.metadata as Record<string, string>;
        expect(['true', 'false']).toContain(m.response_copied);
      }
      if (p.l.kind === 'event') maxSeen = Math.max(maxSeen, p.ts);
    }
    expect(Math.min(...lags)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...lags)).toBeLessThanOrEqual(8 * MINUTE);
    expect(disordered / feedback.length).toBeGreaterThan(0.3);
    const ratings = new Set(feedback.map((p) => p.b.rating).filter((r) => r !== null));
    expect([...ratings].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(feedback.some((p) => p.b.dwell_time_seconds !== null)).toBe(true);
    expect(feedback.some((p) => (p.b.metadata as Record<string, string>).response_copied === 'true')).toBe(
      true,
    );
  });

  it('groups requests into sessions of several requests, with follow-ups and >30 min pauses', () => {
    const sessions = new Map<string, Parsed[]>();
    for (const p of ofType('llm_request')) {
      const s = sessions.get(p.b.session_id as string) ?? [];
      s.push(p);
      sessions.set(p.b.session_id as string, s);
    }
    const sizes = [...sessions.values()].map((s) => s.length);
    expect(sizes.filter((n) => n >= 3).length).toBeGreaterThan(sessions.size / 4);
    let splits = 0;
    let within = 0;
    for (const s of sessions.values()) {
      s.sort((a, b) => a.ts - b.ts);
      for (let i = 1; i < s.length; i++) {
        const gap = s[i]!.ts - s[i - 1]!.ts;
        if (gap > 30 * MINUTE) splits++;
        else within++;
      }
    }
    expect(splits).toBeGreaterThan(0);
    expect(splits / (splits + within)).toBeLessThan(0.15);
    const followUps = ofType('llm_request').filter((p) => p.b.follow_up === true);
    expect(followUps.length).toBeGreaterThan(0.2 * ofType('llm_request').length);
    // several sessions per user, with tiers
    const perUser = new Map<string, Set<string>>();
    for (const p of ofType('llm_request')) {
      if (typeof p.b.user_id !== 'string') continue;
      const s = perUser.get(p.b.user_id) ?? new Set<string>();
      s.add(p.b.session_id as string);
      perUser.set(p.b.user_id, s);
    }
    expect([...perUser.values()].filter((s) => s.size >= 3).length).toBeGreaterThan(20);
    const tiers = new Set(ofType('llm_request').map((p) => p.b.user_tier));
    expect(tiers).toEqual(new Set(['free', 'pro', 'enterprise', undefined]));
    console.log(
      `sessions: ${sessions.size}, with ≥ 3 requests: ${sizes.filter((n) => n >= 3).length}, gaps > 30 min: ${splits}`,
    );
  });

  it('repeats prompts exactly, Zipf-like, in several languages, sometimes without prompt_tokens', () => {
    const requests = ofType('llm_request');
    const prompts = requests.map((p) => p.b.prompt).filter((x): x is string => typeof x === 'string');
    const counts = new Map<string, number>();
    for (const p of prompts) counts.set(p, (counts.get(p) ?? 0) + 1);
    const uniqueShare = counts.size / prompts.length;
    console.log(
      `prompts: ${prompts.length}, unique: ${counts.size} (${(100 * uniqueShare).toFixed(1)} %), ` +
        `most repeated ×${Math.max(...counts.values())}`,
    );
    expect(uniqueShare).toBeLessThan(0.6);
    expect(uniqueShare).toBeGreaterThan(0.05);
    expect([...counts.values()].filter((c) => c >= 10).length).toBeGreaterThan(20);
    expect([...counts.values()].filter((c) => c === 1).length).toBeGreaterThan(100);
    const languages = new Set(requests.map((p) => p.b.language).filter((x) => x !== undefined));
    expect(languages.size).toBeGreaterThanOrEqual(4);
    const noTokens = requests.filter((p) => p.b.prompt_tokens === undefined).length;
    expect(noTokens / requests.length).toBeGreaterThan(0.05);
    expect(noTokens / requests.length).toBeLessThan(0.3);
    expect(new Set(requests.map((p) => p.b.task_type)).size).toBeGreaterThanOrEqual(5);
  });

  it('spans several hours, with small disorder and a few far-late records', () => {
    const ts = good.map((p) => p.ts);
    const span = Math.max(...ts) - Math.min(...ts);
    expect(span).toBeGreaterThan(3 * HOUR);
    let maxSeen = Number.NEGATIVE_INFINITY;
    let late = 0;
    let disordered = 0;
    for (const p of good) {
      const lag = maxSeen - p.ts;
      if (p.l.kind === 'late') {
        late++;
        expect(lag).toBeGreaterThanOrEqual(20 * MINUTE);
        expect(lag).toBeLessThanOrEqual(80 * MINUTE);
        continue;
      }
      if (lag > 0) disordered++;
      expect(lag).toBeLessThanOrEqual(p.l.type === 'user_feedback' ? 8 * MINUTE : 2 * MINUTE);
      maxSeen = Math.max(maxSeen, p.ts);
    }
    expect(late).toBeGreaterThan(5);
    expect(late).toBeLessThan(100);
    expect(disordered / onTime.length).toBeGreaterThan(0.1);
    expect(good.filter((p) => p.l.kind === 'late' && p.l.type === 'llm_request')).toHaveLength(0);
  });

  it('reports system health every ~10 s per component (each model and the gateway)', () => {
    const health = onTime.filter((p) => p.l.type === 'system_health');
    const byComponent = new Map<string, number[]>();
    for (const p of health) {
      const c = p.b.component as string;
      byComponent.set(c, [...(byComponent.get(c) ?? []), p.ts]);
    }
    const models = new Set(ofType('model_catalog').map((p) => p.b.model as string));
    expect(new Set(byComponent.keys())).toEqual(new Set([...models, 'gateway']));
    for (const ts of byComponent.values()) {
      ts.sort((a, b) => a - b);
      const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      expect(mean).toBeGreaterThan(9_000);
      expect(mean).toBeLessThan(11_500); // a late report leaves one 20 s gap
    }
    const keys = [
      'memory_limit',
      'max_concurrency',
      'budget_remaining',
      'budget_total',
      'budget_reset_at',
      'api_quota_remaining',
      'region_load',
    ];
    let full = 0;
    for (const p of health) {
      const b = p.b;
      if (b.cpu_usage === null) continue;
      full++;
      expect(b.cpu_usage as number).toBeGreaterThanOrEqual(0);
      expect(b.cpu_usage as number).toBeLessThanOrEqual(1);
      expect(Number.isInteger(b.memory_usage)).toBe(true);
      expect(Number.isInteger(b.queue_depth)).toBe(true);
      expect(Number.isInteger(b.active_requests)).toBe(true);
      const m = b.metrics as Record<string, number>;
      expect(Object.keys(m).sort()).toEqual([...keys].sort());
      expect(m.budget_remaining!).toBeLessThanOrEqual(m.budget_total!);
      expect(m.budget_reset_at! * 1000).toBeGreaterThan(p.ts);
    }
    expect(full).toBeGreaterThan(0.9 * health.length);
  });

  it('ties experiment results and config_id to the same variants; api_call paths are templates', () => {
    const variants = new Set(ofType('experiment_result').map((p) => p.b.variant_id as string));
    expect(variants.size).toBe(4);
    const used = ofType('performance_metrics')
      .map((p) => p.b.config_id)
      .filter((c): c is string => typeof c === 'string');
    expect(used.length).toBeGreaterThan(0);
    for (const c of used) expect(variants.has(c)).toBe(true);
    for (const p of ofType('api_call')) expect(p.b.path).toMatch(/^\/v1\/[a-z]+(\/\{id\}(\/confirm)?)?$/);
  });
});

describe('generateLlmEvents options', () => {
  it('honours models, start, and zero bad and late fractions', () => {
    const start = Date.UTC(2026, 5, 6, 12); // a Saturday noon
    const lines = [
      ...generateLlmLines({ events: 4000, seed: 3, models: 10, start, badFraction: 0, lateFraction: 0 }),
    ];
    expect(lines.every((l) => l.kind === 'event')).toBe(true);
    const catalog = lines.filter((l) => l.type === 'model_catalog').map((l) => JSON.parse(l.line) as Body);
    expect(new Set(catalog.map((c) => c.model)).size).toBe(10);
    expect(catalog.some((c) => (c.model as string).endsWith('-v2'))).toBe(true);
    expect(Math.min(...lines.map((l) => l.ts!))).toBe(start);
    // bad and late records have their own PRNGs: the well-formed stream is the same with them
    const withBad = [
      ...generateLlmLines({ events: 4000, seed: 3, models: 10, start, badFraction: 0.05, lateFraction: 0 }),
    ];
    const good = withBad.filter((l) => l.kind === 'event').map((l) => l.line);
    expect(good.length).toBeLessThan(3900);
    const same = lines.slice(0, good.length).map((l) => l.line);
    expect(good.findIndex((l, i) => l !== same[i])).toBe(-1);
  });

  it('follows the time of day and the day of the week', () => {
    const requestsPerHour = (start: number) => {
      const lines = [...generateLlmLines({ events: 6000, seed: 5, start })];
      const ts = lines.filter((l) => l.ts !== null).map((l) => l.ts!);
      const requests = lines.filter((l) => l.type === 'llm_request' && l.ts !== null).length;
      return requests / ((Math.max(...ts) - Math.min(...ts)) / HOUR);
    };
    const mondayPeak = requestsPerHour(Date.UTC(2026, 2, 2, 15)); // Monday 15:00 UTC
    const mondayNight = requestsPerHour(Date.UTC(2026, 2, 2, 3));
    const saturdayPeak = requestsPerHour(Date.UTC(2026, 2, 7, 15));
    console.log(
      `requests per hour: Monday 15:00 ${mondayPeak.toFixed(0)}, Monday 03:00 ${mondayNight.toFixed(0)}, ` +
        `Saturday 15:00 ${saturdayPeak.toFixed(0)}`,
    );
    expect(mondayPeak).toBeGreaterThan(2.5 * mondayNight);
    expect(mondayPeak).toBeGreaterThan(1.4 * saturdayPeak);
  });

  it("makes errors likelier under load (judged by the model component's latest cpu_usage)", () => {
    const lastCpu = new Map<string, number>();
    const tally = { calm: [0, 0], busy: [0, 0] };
    for (const l of generateLlmLines({ events: 30_000, seed: 9, start: Date.UTC(2026, 2, 3, 10) })) {
      if (l.ts === null || l.kind === 'late') continue;
      const b = JSON.parse(l.line) as Body;
      if (l.type === 'system_health' && typeof b.cpu_usage === 'number') {
        lastCpu.set(b.component as string, b.cpu_usage);
      } else if (l.type === 'performance_metrics') {
        const cpu = lastCpu.get(b.model as string);
        if (cpu === undefined) continue;
        const bucket = cpu >= 0.75 ? tally.busy : cpu < 0.6 ? tally.calm : null;
        if (bucket === null) continue;
        bucket[0]!++;
        if (b.error !== null) bucket[1]!++;
      }
    }
    const rate = ([n, e]: number[]) => e! / n!;
    console.log(
      `error rate: calm ${(100 * rate(tally.calm)).toFixed(1)} % of ${tally.calm[0]}, ` +
        `busy ${(100 * rate(tally.busy)).toFixed(1)} % of ${tally.busy[0]}`,
    );
    expect(tally.busy[0]).toBeGreaterThan(500);
    expect(tally.calm[0]).toBeGreaterThan(500);
    expect(rate(tally.busy)).toBeGreaterThan(1.5 * rate(tally.calm));
  });

  it('validates its options, naming the field', () => {
    expect(() => [...generateLlmEvents({ events: -1, seed: 1 })]).toThrow(ConfigError);
    expect(() => [...generateLlmEvents({ events: 1, seed: 1.5 })]).toThrow(/seed/);
    expect(() => [...generateLlmEvents({ events: 1, seed: 1, models: 0 })]).toThrow(/models/);
    expect(() => [...generateLlmEvents({ events: 1, seed: 1, badFraction: 1.5 })]).toThrow(/badFraction/);
    expect(() => [...generateLlmEvents({ events: 1, seed: 1, lateFraction: -0.1 })]).toThrow(/lateFraction/);
    expect(() => [...generateLlmEvents({ events: 1, seed: 1, start: Number.NaN })]).toThrow(/start/);
    expect([...generateLlmEvents({ events: 0, seed: 1 })]).toEqual([]);
  });
});

describe('writeLlmEvents', () => {
  const opts = { events: 6000, seed: 11, badFraction: 0.01, lateFraction: 0.01 };
  const expected = [...generateLlmLines(opts)];
  const text = `${expected.map((l) => l.line).join('\n')}\n`;

  it('streams NDJSON to a file and returns the stats', async () => {
    const path = join(dir, 'llm.ndjson');
    const stats = await writeLlmEvents(path, opts);
    expect(readFileSync(path, 'utf8')).toBe(text);
    const good = expected.filter((l) => l.ts !== null);
    expect(stats.lines).toBe(6000);
    expect(stats.bad).toBe(expected.length - good.length);
    expect(stats.bad).toBeGreaterThan(20);
    expect(Object.values(stats.badByReason).reduce((a, b) => a + b, 0)).toBe(stats.bad);
    expect(stats.late).toBe(expected.filter((l) => l.kind === 'late').length);
    expect(stats.late).toBeGreaterThan(5);
    expect(Object.values(stats.byType).reduce((a, b) => a + b, 0)).toBe(good.length);
    for (const t of EVENT_TYPES) expect(stats.byType[t]).toBe(good.filter((l) => l.type === t).length);
    expect(stats.first).toBe(Math.min(...good.map((l) => l.ts!)));
    expect(stats.last).toBe(Math.max(...good.map((l) => l.ts!)));
    const prompts = good
      .filter((l) => l.type === 'llm_request')
      .map((l) => (JSON.parse(l.line) as Body).prompt)
      .filter((p) => typeof p === 'string');
    expect(stats.prompts).toBe(prompts.length);
    expect(stats.uniquePrompts).toBe(new Set(prompts).size);
  });

  it('gzips when the path ends in .gz', async () => {
    const path = join(dir, 'llm.ndjson.gz');
    const stats = await writeLlmEvents(path, opts);
    expect(gunzipSync(readFileSync(path)).toString('utf8')).toBe(text);
    expect(stats.lines).toBe(6000);
  });
});
