/**
 * A deterministic, seeded stream of `performance_metrics` NDJSON lines shaped like the LLM
 * Auto-Optimizer collector's output: for the embedded default, benchmarks and tests.
 *
 * What it holds, all from one seed (no `Math.random`, no clock):
 * - several models with their own latency (log-normal) and price profiles, used Zipf-like;
 * - event times advancing with the line number (about 85 ms apart on average), with bursts:
 *   some aligned 5-minute spans get 4–8× the traffic;
 * - disorder: an event's time lags the stream's clock by up to `disorderMs` (three quarters by
 *   at most 2 s, the rest uniformly);
 * - late events: a `lateFraction` of lines lie 1–3 × `lateByMs` behind the greatest event time
 *   so far (with the defaults 10–30 min, beyond any allowed lateness);
 * - errors on ~3 % of requests (about half of them timeouts), `metrics.retries` 0–2;
 * - with `badFraction` > 0, malformed lines cycling through every reason code.
 *
 * @example
 * for (const line of generatePerfEvents({ events: 1000, seed: 42 })) process.stdout.write(`${line}\n`);
 * const counts = await writePerfEvents('events.ndjson.gz', { events: 1e6, seed: 7, badFraction: 0.001 });
 */
import { ConfigError } from '../../../shared/errors.js';
import { DEFAULT_MAX_LINE_BYTES } from '../events/decode.js';
import { formatTimestamp } from '../../../shared/timestamp.js';
import { REASON_CODES, type ReasonCode } from '../events/types.js';
import { writeNdjsonLines } from '../../../shared/ndjson-writer.js';

export interface PerfStreamOptions {
  /** Number of lines to write (bad lines included). */
  readonly events: number;
  readonly seed: number;
  /** Number of distinct models (default 4). */
  readonly models?: number;
  /**
   * Where the stream's clock starts, ms since the epoch (default 2025-01-15T00:00:00Z). Event
   * times lag the clock by up to `disorderMs`, so the first ones may be a little earlier.
   */
  readonly startMs?: number;
  /** Greatest lag of an event's time behind the stream's clock (default 90 000 ms). */
  readonly disorderMs?: number;
  /** Share of lines that are far behind the stream's greatest event time (default 0.002). */
  readonly lateFraction?: number;
  /** A late event lies 1–3 × this behind the greatest event time so far (default 600 000 ms). */
  readonly lateByMs?: number;
  /** Share of lines that are malformed, one reason code after the other (default 0). */
  readonly badFraction?: number;
  /** Size of the `oversize` bad lines (default: one byte over decodeLine's 1 MiB limit). */
  readonly oversizeBytes?: number;
}

/** What a generated line is: an in-order-enough event, a late one, or a bad line of one reason. */
export type PerfLineKind = 'event' | 'late' | ReasonCode;

export interface PerfLine {
  readonly line: string;
  readonly kind: PerfLineKind;
  /** Event time in ms (what decodeLine gives as `ts`), null for bad lines. */
  readonly ts: number | null;
  readonly model: string | null;
}

export interface PerfStreamCounts {
  /** Lines written, bad ones included. */
  readonly lines: number;
  /** Lines that decode (late ones included). */
  readonly events: number;
  readonly late: number;
  readonly bad: number;
  readonly badByReason: Readonly<Record<ReasonCode, number>>;
  /** Uncompressed bytes, newlines included. */
  readonly bytes: number;
  /** Least and greatest event time of the decodable lines (null when there are none). */
  readonly minTs: number | null;
  readonly maxTs: number | null;
}

export { mulberry32 } from '../../../shared/random.js';
import { mulberry32 } from '../../../shared/random.js';

interface ModelProfile {
  readonly name: string;
  /** Median latency (ms) and log-normal sigma. */
  readonly latencyMedian: number;
  readonly latencySigma: number;
  /** USD per 1k tokens. */
  readonly priceIn: number;
  readonly priceOut: number;
  readonly errorRate: number;
  /** A/B configurations this model runs under. */
  readonly configs: readonly string[];
}

const BASE_MODELS: ReadonlyArray<Omit<ModelProfile, 'configs'>> = [
  {
    name: 'gpt-4o',
    latencyMedian: 900,
    latencySigma: 0.45,
    priceIn: 0.0025,
    priceOut: 0.01,
    errorRate: 0.025,
  },
  {
    name: 'gpt-4o-mini',
    latencyMedian: 450,
    latencySigma: 0.4,
    priceIn: 0.00015,
    priceOut: 0.0006,
    errorRate: 0.02,
  },
  {
    name: 'claude-3-5-sonnet',
    latencyMedian: 1200,
    latencySigma: 0.5,
    priceIn: 0.003,
    priceOut: 0.015,
    errorRate: 0.03,
  },
  {
    name: 'claude-3-haiku',
    latencyMedian: 380,
    latencySigma: 0.35,
    priceIn: 0.00025,
    priceOut: 0.00125,
    errorRate: 0.02,
  },
  {
    name: 'gemini-1.5-pro',
    latencyMedian: 1100,
    latencySigma: 0.55,
    priceIn: 0.00125,
    priceOut: 0.005,
    errorRate: 0.04,
  },
  {
    name: 'llama-3.1-70b',
    latencyMedian: 700,
    latencySigma: 0.6,
    priceIn: 0.00088,
    priceOut: 0.00088,
    errorRate: 0.045,
  },
  {
    name: 'mistral-large',
    latencyMedian: 950,
    latencySigma: 0.5,
    priceIn: 0.002,
    priceOut: 0.006,
    errorRate: 0.035,
  },
  { name: 'gpt-4', latencyMedian: 2200, latencySigma: 0.5, priceIn: 0.03, priceOut: 0.06, errorRate: 0.03 },
];

const ERRORS: readonly string[] = [
  'timeout after 30000ms',
  'upstream request timeout',
  'gateway timeout (504)',
  'rate_limit_exceeded: 429 Too Many Requests',
  'context_length_exceeded',
  'internal_server_error: 500',
];

const SPAN_MS = 300_000;
const MEAN_GAP_MS = 150;
const BURST_SHARE = 0.15;
const TIMEOUT_MS = 30_000;

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A version-4 UUID from 128 random bits (4 draws). */
function uuid(rand: () => number): string {
  const a = (rand() * 4_294_967_296) >>> 0;
  const b = (rand() * 4_294_967_296) >>> 0;
  const c = (rand() * 4_294_967_296) >>> 0;
  const d = (rand() * 4_294_967_296) >>> 0;
  const x = (v: number, shift: number) => HEX[(v >>> shift) & 255]!;
  return (
    `${x(a, 24)}${x(a, 16)}${x(a, 8)}${x(a, 0)}-${x(b, 24)}${x(b, 16)}-` +
    `${HEX[0x40 | ((b >>> 8) & 15)]}${x(b, 0)}-${HEX[0x80 | ((c >>> 24) & 63)]}${x(c, 16)}-` +
    `${x(c, 8)}${x(c, 0)}${x(d, 24)}${x(d, 16)}${x(d, 8)}${x(d, 0)}`
  );
}

/** A standard normal deviate (Box–Muller). */
function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** serde_json writes an integral f64 with `.0`; so does this. */
function f64(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e15 ? `${x}.0` : String(x);
}

function profiles(count: number, rand: () => number): ModelProfile[] {
  const out: ModelProfile[] = [];
  for (let i = 0; i < count; i++) {
    const base = BASE_MODELS[i % BASE_MODELS.length]!;
    const round = Math.floor(i / BASE_MODELS.length);
    const scale = round === 0 ? 1 : 0.7 + rand() * 0.6;
    out.push({
      ...base,
      name: round === 0 ? base.name : `${base.name}-v${round + 1}`,
      latencyMedian: base.latencyMedian * scale,
      configs: [uuid(rand), uuid(rand)],
    });
  }
  return out;
}

function checkOptions(o: PerfStreamOptions): void {
  const bad = (field: string, rule: string, v: unknown): never => {
    throw new ConfigError(`perf stream \`${field}\` ${rule}, got ${String(v)}`, { field });
  };
  if (!Number.isSafeInteger(o.events) || o.events < 0) bad('events', 'must be an integer ≥ 0', o.events);
  if (!Number.isSafeInteger(o.seed)) bad('seed', 'must be an integer', o.seed);
  if (o.models !== undefined && (!Number.isSafeInteger(o.models) || o.models < 1)) {
    bad('models', 'must be an integer ≥ 1', o.models);
  }
  if (o.startMs !== undefined && !Number.isFinite(o.startMs))
    bad('startMs', 'must be a finite number', o.startMs);
  if (o.disorderMs !== undefined && !(o.disorderMs >= 0)) bad('disorderMs', 'must be ≥ 0', o.disorderMs);
  if (o.lateByMs !== undefined && !(o.lateByMs > 0)) bad('lateByMs', 'must be > 0', o.lateByMs);
  for (const k of ['lateFraction', 'badFraction'] as const) {
    const v = o[k];
    if (v !== undefined && !(v >= 0 && v <= 1)) bad(k, 'must be in [0, 1]', v);
  }
  if ((o.lateFraction ?? 0) + (o.badFraction ?? 0) > 1) {
    bad('lateFraction', '+ `badFraction` must be ≤ 1', (o.lateFraction ?? 0) + (o.badFraction ?? 0));
  }
  if (o.oversizeBytes !== undefined && (!Number.isSafeInteger(o.oversizeBytes) || o.oversizeBytes < 64)) {
    bad('oversizeBytes', 'must be an integer ≥ 64', o.oversizeBytes);
  }
}

interface Fields {
  type: string;
  id: string;
  timestamp: string;
  request_id: string;
  model: string;
  config_id: string;
  latency_ms: string;
  input_tokens: string;
  output_tokens: string;
  cost: string;
  quality_score: string;
  error: string;
  metrics: string;
}

/** Field values as JSON text, in the collector's (struct) order; `undefined` drops a field. */
function render(f: Fields, drop?: keyof Fields, padding?: number): string {
  let s = '{';
  for (const k in f) {
    if (k === drop) continue;
    s += `${s.length > 1 ? ',' : ''}"${k}":${f[k as keyof Fields]}`;
  }
  if (padding !== undefined && padding > 0) s += `,"padding":"${'x'.repeat(padding)}"`;
  return `${s}}`;
}

/**
 * Every line with what it is and its event time: the ground truth for tests and benchmarks.
 * {@link generatePerfEvents} is this without the annotations.
 */
export function* generatePerfLines(opts: PerfStreamOptions): Generator<PerfLine, void, undefined> {
  checkOptions(opts);
  const rand = mulberry32(opts.seed);
  const models = profiles(opts.models ?? 4, rand);
  const weights = models.map((_, i) => 1 / (i + 1));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const startMs = Math.floor(opts.startMs ?? Date.UTC(2025, 0, 15));
  const disorderMs = opts.disorderMs ?? 90_000;
  const lateFraction = opts.lateFraction ?? 0.002;
  const lateByMs = opts.lateByMs ?? 600_000;
  const badFraction = opts.badFraction ?? 0;
  const oversizeBytes = opts.oversizeBytes ?? DEFAULT_MAX_LINE_BYTES + 1;
  // Whether an aligned 5-minute span is a burst, and how strong: its own stream, so the choice
  // does not depend on how many events came before.
  const spanFactor = (span: number) => {
    const r = mulberry32((opts.seed * 0x9e3779b1) ^ (span * 0x85ebca6b));
    return r() < BURST_SHARE ? 4 + r() * 4 : 1;
  };

  let clock = startMs;
  let span = Math.floor(clock / SPAN_MS);
  let factor = spanFactor(span);
  let maxTs = Number.NEGATIVE_INFINITY;
  let badCount = 0;

  for (let i = 0; i < opts.events; i++) {
    clock += (-Math.log(1 - rand()) * MEAN_GAP_MS) / factor;
    const s = Math.floor(clock / SPAN_MS);
    if (s !== span) {
      span = s;
      factor = spanFactor(span);
    }

    const roll = rand();
    const isBad = roll < badFraction;
    const isLate = !isBad && roll < badFraction + lateFraction && maxTs > Number.NEGATIVE_INFINITY;
    // Most events arrive within a couple of seconds of their time; a quarter lag up to disorderMs.
    const lag = rand() < 0.75 ? Math.min(disorderMs, 2000) * rand() : disorderMs * rand();
    const ts = isLate ? Math.floor(maxTs - lateByMs * (1 + 2 * rand())) : Math.floor(clock - lag);
    if (!isBad && ts > maxTs) maxTs = ts;
    const sixDigits = rand() < 0.05 ? '' : String(Math.floor(rand() * 1e6)).padStart(6, '0');

    let pick = rand() * totalWeight;
    let m = 0;
    while (m < models.length - 1 && pick >= weights[m]!) pick -= weights[m++]!;
    const model = models[m]!;

    const inTok = Math.max(1, Math.round(Math.exp(Math.log(400) + 0.8 * gaussian(rand))));
    let outTok = Math.max(1, Math.round(Math.exp(Math.log(250) + 0.7 * gaussian(rand))));
    // Bursts load the backends: a little slower, a few more errors.
    const load = factor > 1 ? 1.25 : 1;
    let latency =
      model.latencyMedian * load * Math.exp(model.latencySigma * gaussian(rand)) * (0.6 + outTok / 600);
    let error = 'null';
    let retries = rand() < 0.85 ? 0 : rand() < 0.75 ? 1 : 2;
    if (rand() < model.errorRate * load) {
      const message = ERRORS[Math.floor(rand() * ERRORS.length)]!;
      error = JSON.stringify(message);
      retries = 1 + Math.floor(rand() * 2);
      outTok = 0;
      if (message.includes('timeout')) latency = TIMEOUT_MS + rand() * 50;
      else latency *= 0.2;
    }
    const cost = Math.round(((inTok * model.priceIn + outTok * model.priceOut) / 1000) * 1e8) / 1e8;
    const quality =
      rand() < 0.7 || error !== 'null' ? 'null' : f64(Math.round((0.5 + rand() * 0.5) * 1000) / 1000);
    const configId = rand() < 0.25 ? `"${model.configs[Math.floor(rand() * model.configs.length)]}"` : 'null';
    const iso = formatTimestamp(ts);
    const fields: Fields = {
      type: '"performance_metrics"',
      id: `"${uuid(rand)}"`,
      timestamp: `"${iso.slice(0, 23)}${sixDigits}Z"`,
      request_id: `"${uuid(rand)}"`,
      model: `"${model.name}"`,
      config_id: configId,
      latency_ms: f64(Math.round(latency * 1000) / 1000),
      input_tokens: String(inTok),
      output_tokens: String(outTok),
      cost: f64(cost),
      quality_score: quality,
      error,
      metrics:
        error === 'null'
          ? `{"retries":${f64(retries)},"ttft_ms":${f64(Math.round(latency * 0.2 * 10) / 10)}}`
          : `{"retries":${f64(retries)}}`,
    };

    if (!isBad) {
      yield { line: render(fields), kind: isLate ? 'late' : 'event', ts, model: model.name };
      continue;
    }
    const reason = REASON_CODES[badCount % REASON_CODES.length]!;
    const variant = Math.floor(badCount / REASON_CODES.length) % 2;
    badCount++;
    let line: string;
    switch (reason) {
      case 'not_json': {
        const whole = render(fields);
        line = variant === 0 ? whole.slice(0, Math.floor(whole.length / 2)) : `${whole},`;
        break;
      }
      case 'unknown_type':
        line = variant === 0 ? render({ ...fields, type: '"perf_metrics"' }) : render(fields, 'type');
        break;
      case 'missing_field':
        line = render(fields, variant === 0 ? 'latency_ms' : 'model');
        break;
      case 'wrong_type':
        line =
          variant === 0
            ? render({ ...fields, latency_ms: '"fast"' })
            : render({ ...fields, input_tokens: '"100"' });
        break;
      case 'non_finite':
        line =
          variant === 0
            ? render({ ...fields, latency_ms: '1e999' })
            : render({ ...fields, metrics: '{"retries":-1e999}' });
        break;
      case 'out_of_range':
        line =
          variant === 0
            ? render({ ...fields, latency_ms: '-5.0' })
            : render({ ...fields, output_tokens: '-3' });
        break;
      case 'bad_timestamp':
        line = render({ ...fields, timestamp: variant === 0 ? '"yesterday"' : '"2025-13-01T00:00:00Z"' });
        break;
      case 'oversize': {
        const base = render(fields);
        line = render(fields, undefined, Math.max(1, oversizeBytes - base.length - ',"padding":""'.length));
        break;
      }
    }
    yield { line, kind: reason, ts: null, model: null };
  }
}

/**
 * The lines of a seeded `performance_metrics` stream (no newlines). Same options, same lines.
 *
 * @example
 * const lines = [...generatePerfEvents({ events: 10_000, seed: 1, models: 6, badFraction: 0.01 })];
 */
export function* generatePerfEvents(opts: PerfStreamOptions): Generator<string, void, undefined> {
  for (const l of generatePerfLines(opts)) yield l.line;
}

/**
 * Writes a generated stream to `path` as NDJSON, gzip-compressed when the path ends in `.gz`,
 * streaming (memory stays flat for any number of events). Resolves with what was written.
 *
 * @example
 * const { lines, late, bad } = await writePerfEvents('/tmp/perf.ndjson', { events: 100_000, seed: 7 });
 */
export async function writePerfEvents(path: string, opts: PerfStreamOptions): Promise<PerfStreamCounts> {
  checkOptions(opts);
  const badByReason = Object.fromEntries(REASON_CODES.map((r) => [r, 0])) as Record<ReasonCode, number>;
  let lines = 0;
  let events = 0;
  let late = 0;
  let bad = 0;
  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;

  function* counted(): Generator<string, void, undefined> {
    for (const l of generatePerfLines(opts)) {
      lines++;
      if (l.ts === null) {
        bad++;
        badByReason[l.kind as ReasonCode]++;
      } else {
        events++;
        if (l.kind === 'late') late++;
        if (l.ts < minTs) minTs = l.ts;
        if (l.ts > maxTs) maxTs = l.ts;
      }
      yield l.line;
    }
  }

  const bytes = await writeNdjsonLines(path, counted());
  return {
    lines,
    events,
    late,
    bad,
    badByReason,
    bytes,
    minTs: events > 0 ? minTs : null,
    maxTs: events > 0 ? maxTs : null,
  };
}
