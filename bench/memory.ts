/**
 * `npm run bench:memory` — peak RSS of the `llm-perf` windows (perf_5min tumbling 5 min,
 * perf_1hr sliding 1 h every 5 min) holding `MINUTES` simulated minutes of
 * `RATE` performance events per second per model for `MODELS` models, with exact quantiles
 * (today's default: every value kept) and with bounded quantiles (exact up to `EXACT_UP_TO`
 * values per pane/window, then a DDSketch at 1 % relative accuracy). Each mode runs in its own
 * process; a third process that loads the same modules and holds no state is the baseline.
 * Prints peak RSS, the windows' own state estimate (`stateBytes`), events/s, and the largest
 * relative difference of the sketch's p50/p95 from the exact ones over all fired windows.
 *
 * The operators are driven directly (no decode, no workers): this measures window state, not
 * the rest of a run.
 *
 *   RATE=10000 MODELS=5 MINUTES=20 EXACT_UP_TO=10000 npm run bench:memory
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Emitter, FeatureRow, RecordBatch } from '../operators/operator.js';
import { SlidingWindowOperator } from '../operators/sliding-window.js';
import { llmPerfTopology } from '../src/domains/llm/topology.js';
import type { MapNode, WindowNode } from '../topology/nodes.js';

const RATE = Number(process.env.RATE ?? 10_000);
const MODELS = Number(process.env.MODELS ?? 5);
const MINUTES = Number(process.env.MINUTES ?? 20);
const EXACT_UP_TO = Number(process.env.EXACT_UP_TO ?? 10_000);
const START = Date.UTC(2026, 0, 1);

type Mode = 'baseline' | 'exact' | 'sketch';

interface ChildResult {
  mode: Mode;
  peakRssMb: number;
  stateMb: number;
  events: number;
  seconds: number;
  /** perf_1hr rows: `model start` → [p50, p95]. */
  rows: Record<string, [number | null, number | null]>;
}

/** A deterministic pseudo-random sequence (LCG). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function child(mode: Mode): ChildResult {
  const t = llmPerfTopology();
  const map = t.nodes.find((n): n is MapNode => n.kind === 'map')!;
  const fields = map.fields;
  const windows = t.nodes.filter((n): n is WindowNode => n.kind === 'window');
  const ops =
    mode === 'baseline'
      ? []
      : windows.map(
          (w) =>
            new SlidingWindowOperator(
              mode === 'sketch' ? { ...w, quantiles: { exactUpTo: EXACT_UP_TO, relativeAccuracy: 0.01 } } : w,
              fields,
            ),
        );
  const rows: ChildResult['rows'] = {};
  const out: Emitter = {
    row(r: FeatureRow) {
      if (r.group !== 'perf_1hr') return;
      const v = r.values as Record<string, number | null>;
      rows[`${r.entityId} ${r.windowStart}`] = [v.latency_p50_1hr ?? null, v.latency_p95_1hr ?? null];
    },
    late() {},
  };
  const width = fields.length;
  const n = RATE * MODELS;
  const models = Array.from({ length: MODELS }, (_, i) => `model-${i}`);
  const keys = Array.from({ length: n }, (_, i) => models[i % MODELS]!);
  const ts = new Float64Array(n);
  const clock = new Float64Array(n);
  const values = new Float64Array(n * width);
  const refs = new Int32Array(n);
  const batch: RecordBatch = { count: n, width, keys, attrs: [], attrWidth: 0, ts, clock, values, refs };
  const col = (name: string) => fields.indexOf(name);
  const lat = col('latency_ms');
  const ok = col('ok');
  const err = col('err');
  const cost = col('cost');
  const inTok = col('input_tokens');
  const outTok = col('output_tokens');
  const retries = col('retries');
  const rnd = lcg(42);
  let last = START - 1;
  let events = 0;
  let peakState = 0;
  const t0 = performance.now();
  for (let sec = 0; sec < MINUTES * 60; sec++) {
    for (let i = 0; i < n; i++) {
      const at = START + sec * 1000 + Math.floor((i * 1000) / n);
      ts[i] = at;
      clock[i] = last;
      last = at;
      refs[i] = i;
      const o = i * width;
      values.fill(Number.NaN, o, o + width);
      const u = rnd();
      // Log-normal-ish latencies from ~50 ms to ~20 s, a model-dependent scale.
      if (lat >= 0) values[o + lat] = Math.round(50 * Math.exp(6 * u * u) * (1 + (i % MODELS) / 10));
      const failed = rnd() < 0.02;
      if (ok >= 0) values[o + ok] = failed ? 0 : 1;
      if (err >= 0) values[o + err] = failed ? 1 : 0;
      if (cost >= 0) values[o + cost] = 0.0001 * (1 + (i % 7));
      if (inTok >= 0) values[o + inTok] = 100 + (i % 400);
      if (outTok >= 0) values[o + outTok] = 50 + (i % 300);
      if (retries >= 0) values[o + retries] = failed ? 1 : 0;
    }
    if (mode !== 'baseline') for (const op of ops) op.processBatch(batch, out);
    events += n;
    if (sec % 60 === 59) {
      const bytes = ops.reduce((a, op) => a + op.stateBytes(), 0);
      if (bytes > peakState) peakState = bytes;
    }
  }
  for (const op of ops) op.onWatermark(Number.POSITIVE_INFINITY, out);
  const seconds = (performance.now() - t0) / 1000;
  return {
    mode,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    stateMb: peakState / 2 ** 20,
    events,
    seconds,
    rows,
  };
}

function runChild(mode: Mode): ChildResult {
  const out = execFileSync(
    process.execPath,
    ['--max-old-space-size=16384', fileURLToPath(import.meta.url), mode],
    { encoding: 'utf8', maxBuffer: 1 << 28, env: process.env },
  );
  return JSON.parse(out) as ChildResult;
}

function main(): void {
  const arg = process.argv[2] as Mode | undefined;
  if (arg !== undefined) {
    process.stdout.write(JSON.stringify(child(arg)));
    return;
  }
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(
    `bench:memory — llm-perf windows (perf_5min, perf_1hr 1 h/5 min), ${MODELS} models × ${RATE} events/s, ` +
      `${MINUTES} simulated minutes (${((RATE * MODELS * MINUTES * 60) / 1e6).toFixed(1)} M events); ` +
      `sketch: exact up to ${EXACT_UP_TO} values, then DDSketch 1 %`,
  );
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load before: ${load()}`);
  const base = runChild('baseline');
  const exact = runChild('exact');
  const sketch = runChild('sketch');
  let worst = 0;
  let compared = 0;
  for (const [k, e] of Object.entries(exact.rows)) {
    const s = sketch.rows[k];
    if (s === undefined) throw new Error(`sketch run lacks window ${k}`);
    for (let i = 0; i < 2; i++) {
      const a = e[i];
      const b = s[i];
      if (a === null || a === undefined || b === null || b === undefined) continue;
      worst = Math.max(worst, Math.abs(b - a) / Math.abs(a));
      compared++;
    }
  }
  const line = (r: ChildResult) =>
    `${r.mode.padEnd(8)} peak RSS ${r.peakRssMb.toFixed(0).padStart(6)} MB   window state ${r.stateMb
      .toFixed(2)
      .padStart(8)} MB   ${(r.events / r.seconds / 1e6).toFixed(2)} M events/s`;
  console.log(line(base));
  console.log(line(exact));
  console.log(line(sketch));
  console.log(
    `sketch / exact peak RSS: ${(sketch.peakRssMb / exact.peakRssMb).toFixed(3)}×; ` +
      `above baseline: exact ${(exact.peakRssMb - base.peakRssMb).toFixed(0)} MB, sketch ${(sketch.peakRssMb - base.peakRssMb).toFixed(0)} MB; ` +
      `target < 512 MB for ${MODELS} models: exact ${exact.peakRssMb < 512 ? 'yes' : 'no'}, sketch ${sketch.peakRssMb < 512 ? 'yes' : 'no'}`,
  );
  console.log(
    `sketch quantiles vs exact (perf_1hr p50/p95, ${compared} values): max relative difference ${(worst * 100).toFixed(3)} %`,
  );
  console.log(`load after: ${load()}`);
}

main();
