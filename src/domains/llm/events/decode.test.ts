import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_LINE_BYTES, FIELDS, decodeLine, decodeValue } from './decode.js';
import { EVENT_SCHEMAS, decodeValueWithZod } from './schemas.js';
import { parseTimestamp } from '../../../shared/timestamp.js';
import { EVENT_TYPES, type EventType, REASON_CODES, type ReasonCode } from './types.js';

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const COLLECTOR = fixture('collector.ndjson');
const EXTENDED = fixture('extended.ndjson');
const ALL = [...COLLECTOR, ...EXTENDED];
const COLLECTOR_TYPES: readonly EventType[] = [
  'performance_metrics',
  'user_feedback',
  'model_response',
  'system_health',
  'experiment_result',
];

/** The first fixture line of a type, parsed, for building variants. */
function sample(type: EventType): Record<string, unknown> {
  const line = ALL.find((l) => (JSON.parse(l) as { type: string }).type === type);
  if (line === undefined) throw new Error(`no fixture for ${type}`);
  return JSON.parse(line) as Record<string, unknown>;
}
const PERF = COLLECTOR[0]!;
const with_ = (type: EventType, patch: Record<string, unknown>) =>
  JSON.stringify({ ...sample(type), ...patch });
const without = (type: EventType, field: string) => {
  const o = sample(type);
  delete o[field];
  return JSON.stringify(o);
};

function expectFailure(line: string, reason: ReasonCode, detail?: string | RegExp) {
  const r = decodeLine(line);
  expect(r.ok, `expected ${reason} for ${line.slice(0, 200)}`).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe(reason);
  if (typeof detail === 'string') expect(r.detail).toBe(detail);
  else if (detail !== undefined) expect(r.detail).toMatch(detail);
  // The zod reference gives the same verdict for anything that parses.
  if (reason !== 'not_json' && reason !== 'oversize') {
    const z = decodeValueWithZod(JSON.parse(line));
    expect(z.ok ? 'ok' : z.reason).toBe(reason);
  }
}

describe('collector fixtures (the Rust serde shapes)', () => {
  it('cover all five collector types', () => {
    const types = new Set(COLLECTOR.map((l) => (JSON.parse(l) as { type: string }).type));
    expect([...types].sort()).toEqual([...COLLECTOR_TYPES].sort());
  });

  it.each(COLLECTOR.map((l) => [(JSON.parse(l) as { type: string }).type, l]))(
    '%s decodes: %s',
    (_type, line) => {
      const r = decodeLine(line);
      expect(r).toMatchObject({ ok: true });
      if (!r.ok) return;
      const parsed = JSON.parse(line) as { type: string; timestamp: string };
      expect(r.event.type).toBe(parsed.type);
      expect(r.event.ts).toBe(parseTimestamp(parsed.timestamp));
      expect(r.event.body).toEqual(parsed);
      expect(decodeValueWithZod(parsed)).toEqual(r);
    },
  );

  it('gives the event time in integer ms, 9 fractional digits floored, offsets applied', () => {
    const ts = COLLECTOR.map((l) => {
      const r = decodeLine(l);
      return r.ok ? r.event.ts : Number.NaN;
    });
    expect(ts[0]).toBe(Date.UTC(2025, 0, 15, 10, 30, 0, 123));
    expect(ts[6]).toBe(Date.UTC(2025, 0, 15, 10, 30, 0)); // +00:00
    expect(ts[9]).toBe(Date.UTC(2025, 0, 15, 16, 0, 0)); // .000000001-05:00
    for (const t of ts) expect(Number.isInteger(t)).toBe(true);
  });
});

describe('one valid event per type, extra fields kept', () => {
  it('has a fixture for every type', () => {
    for (const type of EVENT_TYPES) expect(() => sample(type)).not.toThrow();
  });

  it.each(EVENT_TYPES.map((t) => [t]))('%s', (type) => {
    const line = with_(type, { x_extra: { nested: [1, 'a', null], flag: true }, zz: 'kept' });
    const r = decodeLine(line);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.type).toBe(type);
    expect(r.event.body.x_extra).toEqual({ nested: [1, 'a', null], flag: true });
    expect(r.event.body.zz).toBe('kept');
    expect(decodeValueWithZod(JSON.parse(line)).ok).toBe(true);
  });

  it.each(EVENT_TYPES.map((t) => [t]))('%s: optional fields may be absent or null', (type) => {
    const o = sample(type);
    const optional = FIELDS[type].filter((f) => f.optional).map((f) => f.name);
    const nulls = { ...o, ...Object.fromEntries(optional.map((k) => [k, null])) };
    const absent = Object.fromEntries(Object.entries(o).filter(([k]) => !optional.includes(k)));
    expect(decodeValue(nulls).ok).toBe(true);
    expect(decodeValue(absent).ok).toBe(true);
    expect(decodeValueWithZod(nulls).ok).toBe(true);
    expect(decodeValueWithZod(absent).ok).toBe(true);
  });

  it('the decoder field tables name the same fields as the zod schemas', () => {
    for (const type of EVENT_TYPES) {
      const shape = Object.keys(EVENT_SCHEMAS[type].shape);
      expect(['type', 'id', 'timestamp', ...FIELDS[type].map((f) => f.name)]).toEqual(shape);
    }
  });

  it('body is the parsed object itself (no copy)', () => {
    const o = sample('api_call');
    const r = decodeValue(o);
    expect(r.ok && r.event.body).toBe(o);
  });
});

describe('reason codes', () => {
  it('not_json', () => {
    expectFailure('{"type":"performance_metrics",', 'not_json', /^not JSON: /);
    expectFailure(PERF.slice(0, 100), 'not_json');
    expectFailure(`${PERF},`, 'not_json');
    expectFailure("{'type':'performance_metrics'}", 'not_json');
    expectFailure('', 'not_json', 'not JSON: empty line');
    expectFailure('NaN', 'not_json');
  });

  it('unknown_type: missing, unknown or not a string', () => {
    expectFailure(without('performance_metrics', 'type'), 'unknown_type', 'type: missing');
    expectFailure(
      with_('performance_metrics', { type: 'perf_metrics' }),
      'unknown_type',
      'type: unknown event type "perf_metrics"',
    );
    expectFailure(with_('performance_metrics', { type: 'PerformanceMetrics' }), 'unknown_type');
    expectFailure(
      with_('performance_metrics', { type: 7 }),
      'unknown_type',
      'type: expected string, got number',
    );
    expectFailure(with_('performance_metrics', { type: null }), 'unknown_type');
    expectFailure('{"type":"__proto__"}', 'unknown_type');
    expectFailure('{}', 'unknown_type');
  });

  it('missing_field: absent, or null where the field is required', () => {
    expectFailure(
      without('performance_metrics', 'latency_ms'),
      'missing_field',
      'latency_ms: required field is missing',
    );
    expectFailure(
      with_('performance_metrics', { model: null }),
      'missing_field',
      'model: required, got null',
    );
    expectFailure(without('performance_metrics', 'id'), 'missing_field', 'id: required field is missing');
    expectFailure(without('performance_metrics', 'timestamp'), 'missing_field', /^timestamp: /);
    expectFailure(without('performance_metrics', 'metrics'), 'missing_field', /^metrics: /);
    expectFailure(without('user_feedback', 'task_completed'), 'missing_field', /^task_completed: /);
    expectFailure(without('user_feedback', 'metadata'), 'missing_field', /^metadata: /);
    expectFailure(without('system_health', 'status'), 'missing_field', /^status: /);
    expectFailure(without('model_response', 'config'), 'missing_field', /^config: /);
    expectFailure(without('experiment_result', 'is_winner'), 'missing_field', /^is_winner: /);
    expectFailure(without('llm_request', 'session_id'), 'missing_field', /^session_id: /);
    expectFailure(without('model_catalog', 'training_cutoff'), 'missing_field', /^training_cutoff: /);
    expectFailure(without('api_call', 'path'), 'missing_field', /^path: /);
  });

  it('wrong_type', () => {
    expectFailure(
      with_('performance_metrics', { latency_ms: 'fast' }),
      'wrong_type',
      'latency_ms: expected number, got string',
    );
    expectFailure(
      with_('performance_metrics', { input_tokens: 1.5 }),
      'wrong_type',
      'input_tokens: expected integer, got number',
    );
    expectFailure(
      with_('performance_metrics', { input_tokens: '100' }),
      'wrong_type',
      'input_tokens: expected integer, got string',
    );
    expectFailure(
      with_('performance_metrics', { error: true }),
      'wrong_type',
      'error: expected string, got boolean',
    );
    expectFailure(with_('performance_metrics', { id: 550 }), 'wrong_type', 'id: expected string, got number');
    expectFailure(
      with_('performance_metrics', { timestamp: 1736937000123 }),
      'wrong_type',
      /^timestamp: expected RFC 3339/,
    );
    expectFailure(
      with_('performance_metrics', { metrics: [1] }),
      'wrong_type',
      /^metrics: expected object .*got array$/,
    );
    expectFailure(
      with_('performance_metrics', { metrics: { retries: '1' } }),
      'wrong_type',
      'metrics.retries: expected number, got string',
    );
    expectFailure(
      with_('performance_metrics', { metrics: { retries: null } }),
      'wrong_type',
      'metrics.retries: expected number, got null',
    );
    expectFailure(
      with_('user_feedback', { metadata: { response_copied: true } }),
      'wrong_type',
      /^metadata.response_copied: /,
    );
    expectFailure(
      with_('user_feedback', { liked: 'yes' }),
      'wrong_type',
      'liked: expected boolean, got string',
    );
    expectFailure(with_('system_health', { status: 1 }), 'wrong_type', 'status: expected string, got number');
    expectFailure(with_('model_response', { context: { channel: 1 } }), 'wrong_type');
    expectFailure(with_('llm_request', { follow_up: 1 }), 'wrong_type');
    expectFailure(with_('model_catalog', { training_cutoff: 20231001 }), 'wrong_type');
    expectFailure('[{"type":"performance_metrics"}]', 'wrong_type', 'event: expected JSON object, got array');
    expectFailure('42', 'wrong_type', 'event: expected JSON object, got number');
    expectFailure('null', 'wrong_type', 'event: expected JSON object, got null');
  });

  it('non_finite: every number, in fields, maps, JSON maps and extra fields', () => {
    expectFailure(
      PERF.replace('"latency_ms":1234.5', '"latency_ms":1e999'),
      'non_finite',
      'latency_ms: expected a finite number, got Infinity',
    );
    expectFailure(
      PERF.replace('"cost":0.0125', '"cost":-1e400'),
      'non_finite',
      'cost: expected a finite number, got -Infinity',
    );
    expectFailure(
      PERF.replace('"retries":1.0', '"retries":1e999'),
      'non_finite',
      'metrics.retries: expected a finite number, got Infinity',
    );
    expectFailure(PERF.replace('"input_tokens":100', '"input_tokens":1e999'), 'non_finite');
    expectFailure(PERF.replace('"model":"gpt-4"', '"model":1e999'), 'non_finite');
    expectFailure(PERF.replace('"quality_score":null', '"quality_score":1e999'), 'non_finite');
    expectFailure(
      PERF.replace('}}', '},"extra":{"deep":[0,1e999]}}'),
      'non_finite',
      'extra.deep[1]: expected a finite number, got Infinity',
    );
    expectFailure(
      with_('model_response', { config: { temperature: 0.7, nested: { x: 1 } } }).replace(
        '"x":1',
        '"x":1e999',
      ),
      'non_finite',
      'config.nested.x: expected a finite number, got Infinity',
    );
    expectFailure(
      with_('experiment_result', { data: { p: 1 } }).replace('"p":1', '"p":1e999'),
      'non_finite',
      /^data\.p: /,
    );
    expectFailure(
      with_('system_health', { cpu_usage: 0.5 }).replace('"cpu_usage":0.5', '"cpu_usage":1e999'),
      'non_finite',
    );
    expectFailure(
      with_('user_feedback', { metadata: { a: 'b' } }).replace('"a":"b"', '"a":1e999'),
      'non_finite',
    );
    // 1.7976931348623157e308 is the largest double: still finite.
    expect(decodeLine(PERF.replace('"latency_ms":1234.5', '"latency_ms":1.7976931348623157e308')).ok).toBe(
      true,
    );
  });

  it('non_finite deep inside an extra field does not overflow the stack', () => {
    const depth = 200_000;
    const line = PERF.replace('}}', `},"deep":${'['.repeat(depth)}1e999${']'.repeat(depth)}}`);
    const r = decodeLine(line);
    expect(r.ok ? 'ok' : r.reason).toBe('non_finite');
  });

  it('out_of_range: impossible values and enum values', () => {
    expectFailure(
      with_('performance_metrics', { latency_ms: -5 }),
      'out_of_range',
      'latency_ms: must be ≥ 0, got -5',
    );
    expectFailure(
      with_('performance_metrics', { output_tokens: -1 }),
      'out_of_range',
      'output_tokens: must be ≥ 0, got -1',
    );
    expectFailure(with_('performance_metrics', { cost: -0.01 }), 'out_of_range');
    expectFailure(with_('performance_metrics', { input_tokens: 2 ** 60 }), 'out_of_range');
    expectFailure(with_('user_feedback', { rating: 9 }), 'out_of_range', 'rating: must be in [1, 5], got 9');
    expectFailure(with_('user_feedback', { rating: 0 }), 'out_of_range');
    expectFailure(with_('user_feedback', { dwell_time_seconds: -1 }), 'out_of_range');
    expectFailure(
      with_('system_health', { status: 'sleepy' }),
      'out_of_range',
      'status: expected one of healthy|degraded|unhealthy, got "sleepy"',
    );
    expectFailure(
      with_('system_health', { cpu_usage: 45 }),
      'out_of_range',
      'cpu_usage: must be in [0, 1], got 45',
    );
    expectFailure(with_('system_health', { memory_usage: -1 }), 'out_of_range');
    expectFailure(with_('experiment_result', { confidence: 1.5 }), 'out_of_range');
    expectFailure(with_('model_response', { response_length: -1 }), 'out_of_range');
    expectFailure(
      with_('llm_request', { priority: 11 }),
      'out_of_range',
      'priority: must be in [0, 10], got 11',
    );
    expectFailure(with_('llm_request', { output_length: 'huge' }), 'out_of_range');
    expectFailure(with_('llm_request', { user_tier: 'gold' }), 'out_of_range');
    expectFailure(with_('model_catalog', { context_length: 0 }), 'out_of_range');
    expectFailure(with_('model_catalog', { capability_score: 2 }), 'out_of_range');
    expectFailure(with_('model_catalog', { size_class: 'xl' }), 'out_of_range');
    expectFailure(with_('api_call', { method: 'get' }), 'out_of_range');
    expectFailure(with_('api_call', { status: 700 }), 'out_of_range');
    expectFailure(with_('api_call', { path: 'v1/invoices' }), 'out_of_range', /^path: must start with "\/"/);
    expectFailure(
      with_('api_call', { path: '/v1/in voices' }),
      'out_of_range',
      /^path: must not contain whitespace/,
    );
    expectFailure(
      with_('api_call', { path: `/${'a'.repeat(2048)}` }),
      'out_of_range',
      /^path: must be at most 2048/,
    );
    expectFailure(with_('api_call', { tenant: 7 }), 'wrong_type', /^tenant: /);
    expect(decodeLine(with_('api_call', { path: '/v1/invoices?limit=3', tenant: 'acme' })).ok).toBe(true);
    // Boundaries are inside.
    expect(decodeLine(with_('user_feedback', { rating: 1 })).ok).toBe(true);
    expect(decodeLine(with_('user_feedback', { rating: 5 })).ok).toBe(true);
    expect(decodeLine(with_('system_health', { cpu_usage: 1 })).ok).toBe(true);
    expect(decodeLine(with_('llm_request', { priority: 0 })).ok).toBe(true);
  });

  it('bad_timestamp', () => {
    expectFailure(
      with_('performance_metrics', { timestamp: 'yesterday' }),
      'bad_timestamp',
      'timestamp: not an RFC 3339 timestamp: "yesterday"',
    );
    expectFailure(with_('performance_metrics', { timestamp: '2025-13-01T00:00:00Z' }), 'bad_timestamp');
    expectFailure(with_('performance_metrics', { timestamp: '2025-01-15T10:30:00' }), 'bad_timestamp');
    expectFailure(with_('user_feedback', { timestamp: '' }), 'bad_timestamp');
    expectFailure(
      with_('model_catalog', { training_cutoff: 'October 2023' }),
      'bad_timestamp',
      /^training_cutoff: /,
    );
    expect(decodeLine(with_('model_catalog', { training_cutoff: '2023-10-01T00:00:00Z' })).ok).toBe(true);
  });

  it('oversize: refused before parsing, counted in UTF-8 bytes', () => {
    const big = `{"type":"performance_metrics","pad":"${'x'.repeat(DEFAULT_MAX_LINE_BYTES)}"}`;
    expectFailure(big, 'oversize', `line is ${big.length} bytes, limit ${DEFAULT_MAX_LINE_BYTES}`);
    // Not even JSON: the size check comes first.
    expectFailure(`{${'x'.repeat(DEFAULT_MAX_LINE_BYTES)}`, 'oversize');
    // 400 000 'é' are 800 000 bytes (under), 600 000 are 1 200 000 (over, though fewer than 1 MiB chars).
    const e = (n: number) => PERF.replace('"gpt-4"', `"${'é'.repeat(n)}"`);
    expect(decodeLine(e(400_000)).ok).toBe(true);
    expectFailure(e(600_000), 'oversize');
    // A custom limit, exactly at the limit is fine.
    expect(decodeLine(PERF, Buffer.byteLength(PERF)).ok).toBe(true);
    const r = decodeLine(PERF, Buffer.byteLength(PERF) - 1);
    expect(r.ok ? 'ok' : r.reason).toBe('oversize');
  });

  it('covers every reason code', () => {
    const seen = new Set<ReasonCode>();
    const cases = [
      '{',
      '{"type":"x"}',
      without('api_call', 'path'),
      with_('api_call', { path: 1 }),
      with_('api_call', { path: '/x' }).replace('"status":200', '"status":1e999'),
      with_('api_call', { status: 99 }),
      with_('api_call', { timestamp: 'now' }),
      'x'.repeat(DEFAULT_MAX_LINE_BYTES + 1),
    ];
    for (const c of cases) {
      const r = decodeLine(c);
      if (!r.ok) seen.add(r.reason);
    }
    expect([...seen].sort()).toEqual([...REASON_CODES].sort());
  });
});

describe('decodeLine details', () => {
  it('tolerates a byte-order mark and a trailing carriage return', () => {
    expect(decodeLine(`\uFEFF${PERF}`).ok).toBe(true);
    expect(decodeLine(`${PERF}\r`).ok).toBe(true);
    expect(decodeLine(`  ${PERF}  `).ok).toBe(true);
  });

  it('reports the first fault in field order', () => {
    const line = JSON.stringify({
      ...sample('performance_metrics'),
      model: 3,
      latency_ms: -1,
      timestamp: 'nope',
    });
    expectFailure(line, 'bad_timestamp');
    const line2 = JSON.stringify({ ...sample('performance_metrics'), model: 3, latency_ms: -1 });
    expectFailure(line2, 'wrong_type', 'model: expected string, got number');
  });

  it('accepts the hot type with extras, key order changes and integral floats', () => {
    const o = sample('performance_metrics');
    const reversed = Object.fromEntries(Object.entries(o).reverse());
    expect(decodeValue(reversed).ok).toBe(true);
    expect(decodeLine(PERF.replace('"input_tokens":100', '"input_tokens":100.0')).ok).toBe(true);
    expect(decodeLine(PERF.replace('"latency_ms":1234.5', '"latency_ms":0')).ok).toBe(true);
    const extra = decodeValue({ ...o, region: 'eu-west-1', tags: ['a'] });
    expect(extra.ok && extra.event.body.region).toBe('eu-west-1');
  });
});

describe('the fast decoder agrees with the zod schemas', () => {
  const VALUES: unknown[] = [
    undefined,
    null,
    '',
    'x',
    'healthy',
    'medium',
    'GET',
    '2025-01-15T10:30:00Z',
    '2025-13-01T00:00:00Z',
    '2024-04-01',
    0,
    1,
    -1,
    0.5,
    1.5,
    5,
    9,
    11,
    200,
    2 ** 60,
    -(2 ** 60),
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    true,
    false,
    [],
    [1, 2],
    {},
    { a: 1 },
    { a: 'b' },
    { a: null },
    { a: Number.POSITIVE_INFINITY },
    { a: { b: [Number.NEGATIVE_INFINITY] } },
  ];

  it('on every fixture with one or two fields replaced, removed or added (seeded)', () => {
    let seed = 2025;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const o = JSON.parse(pick(ALL)) as Record<string, unknown>;
      const keys = [...Object.keys(o), 'extra_field'];
      const edits = 1 + Math.floor(rand() * 2);
      for (let e = 0; e < edits; e++) {
        const k = pick(keys);
        const v = pick(VALUES);
        if (v === undefined) delete o[k];
        else o[k] = v;
      }
      // Values into a map field too.
      if (rand() < 0.3) {
        const mapKey = pick(['metrics', 'metadata', 'config', 'context', 'data']);
        if (typeof o[mapKey] === 'object' && o[mapKey] !== null && !Array.isArray(o[mapKey])) {
          o[mapKey] = { ...(o[mapKey] as object), k: pick(VALUES) };
        }
      }
      const fast = decodeValue(o);
      const ref = decodeValueWithZod(o);
      const verdict = (r: typeof fast) => (r.ok ? 'ok' : r.reason);
      expect(
        verdict(fast),
        `${JSON.stringify(o, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}`,
      ).toBe(verdict(ref));
      if (fast.ok && ref.ok) expect(fast.event.ts).toBe(ref.event.ts);
      counts.set(verdict(fast), (counts.get(verdict(fast)) ?? 0) + 1);
    }
    // The corpus reaches every verdict a parsed value can get.
    for (const v of [
      'ok',
      'unknown_type',
      'missing_field',
      'wrong_type',
      'non_finite',
      'out_of_range',
      'bad_timestamp',
    ]) {
      expect(counts.get(v) ?? 0, v).toBeGreaterThan(0);
    }
  });
});
