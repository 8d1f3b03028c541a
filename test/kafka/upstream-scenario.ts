/**
 * The upstream-format scenario of issue #9, as a new user would try it: every event type in the
 * collector's serde shapes (plus `llm_request` and `model_catalog`), sessions that touch
 * (the next request exactly one gap after the last), split (a 31-minute pause) and run into the
 * 4 h cut, feedback delivered minutes late (within the feedback windows' bound), and five bad
 * records. Deterministic: no randomness, so a file run and a Kafka run read the same lines.
 */

const T0 = Date.parse('2025-01-15T08:00:00Z');
const MIN = 60_000;
const MODELS = ['gpt-4', 'claude-3-5-sonnet', 'gpt-4o-mini'] as const;

/** A session's requests, as minutes after T0. */
export interface ScenarioSession {
  readonly id: string;
  readonly user: string;
  readonly minutes: readonly number[];
  /** REQ_014 (session_depth) of each request, by hand: position in its session after the cuts. */
  readonly depths: readonly number[];
}

/** The sessions whose shape the scenario is about, with their hand-computed session depths. */
export const SCENARIO_SESSIONS: readonly ScenarioSession[] = [
  // A 31-minute pause splits the session: depths restart.
  { id: 's-split', user: 'u-1', minutes: [0, 5, 10, 41, 45], depths: [1, 2, 3, 1, 2] },
  // Requests every 20 min for 5 h: the 4 h cut (span first … last + gap ≤ 4 h) starts a new
  // session. Spans: 0…200 + 30 = 230 ≤ 240; adding 220 gives 250 > 240, so 220 starts anew.
  {
    id: 's-cut',
    user: 'u-2',
    minutes: [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 240, 260, 280, 300],
    depths: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2, 3, 4, 5],
  },
  // Plain sessions.
  { id: 's-a', user: 'u-3', minutes: [3, 4, 9, 15], depths: [1, 2, 3, 4] },
  { id: 's-b', user: 'u-3', minutes: [70, 71, 90], depths: [1, 2, 3] },
  { id: 's-c', user: 'u-4', minutes: [12, 25, 37, 49, 61, 73], depths: [1, 2, 3, 4, 5, 6] },
  { id: 's-d', user: 'u-5', minutes: [100, 101.5, 102, 130], depths: [1, 2, 3, 4] },
];

/** Sessions that touch: the next request exactly one gap (30 min) after the last. Compared, not hand-computed. */
const TOUCHING = [
  { id: 's-touch', user: 'u-6', minutes: [0, 10, 20, 50, 60] },
  { id: 's-touch2', user: 'u-7', minutes: [150, 180, 210] },
];

const iso = (ms: number) => new Date(ms).toISOString();

/** The scenario's lines in delivery order (event time, feedback a few minutes behind), bad records among them. */
export function upstreamScenarioLines(): string[] {
  const out: Array<{ at: number; seq: number; line: string }> = [];
  let seq = 0;
  const emit = (at: number, o: Record<string, unknown> | string) =>
    out.push({ at, seq: seq++, line: typeof o === 'string' ? o : JSON.stringify(o) });

  for (const [i, model] of MODELS.entries())
    emit(T0 - 24 * 60 * MIN, {
      type: 'model_catalog',
      id: `cat-${model}`,
      timestamp: '2025-01-14T08:00:00Z',
      model,
      provider: model.startsWith('claude') ? 'anthropic' : 'openai',
      context_length: 128000 + i * 64000,
      cost_per_1k_input: 0.0025 * (i + 1),
      cost_per_1k_output: 0.01 * (i + 1),
      capability_score: 0.8 + i * 0.05,
      training_cutoff: '2023-10-01',
      supports_functions: true,
      supports_vision: i !== 2,
      supports_json_mode: true,
      size_class: i === 2 ? 'small' : 'large',
    });

  let n = 0;
  for (const s of [...SCENARIO_SESSIONS, ...TOUCHING]) {
    for (const [j, m] of s.minutes.entries()) {
      n++;
      const ts = T0 + m * MIN;
      const model = MODELS[n % MODELS.length]!;
      const rid = `req-${s.id}-${j}`;
      const failed = n % 11 === 0;
      const latency = failed ? 30000 : 400 + ((n * 137) % 2600);
      emit(ts, {
        type: 'llm_request',
        id: `ev-${rid}`,
        timestamp: iso(ts),
        request_id: rid,
        session_id: s.id,
        user_id: s.user,
        model,
        prompt: `Scenario ${s.id} step ${j}: summarise ticket ${n * 7} for ${s.user} in ${2 + (n % 4)} bullet points.`,
        prompt_tokens: 40 + ((n * 31) % 400),
        max_tokens: 512,
        output_length: ['short', 'medium', 'long'][n % 3],
        task_type: ['summarize', 'qa', 'generate', 'classify'][n % 4],
        language: 'en',
        priority: 1 + (n % 9),
        user_tier: ['free', 'pro', 'enterprise'][n % 3],
        follow_up: j > 0 && n % 2 === 0,
      });
      emit(ts + latency, {
        type: 'performance_metrics',
        id: `pm-${rid}`,
        timestamp: iso(ts + latency),
        request_id: rid,
        model,
        config_id: null,
        latency_ms: latency,
        input_tokens: 40 + ((n * 31) % 400),
        output_tokens: failed ? 0 : 50 + ((n * 53) % 700),
        cost: Number((0.0001 * (1 + (n % 17))).toFixed(6)),
        quality_score: failed ? 0 : Number((0.5 + ((n * 7) % 50) / 100).toFixed(2)),
        error: failed ? 'upstream timeout after 30000ms' : null,
        metrics: { retries: failed ? 1 : 0 },
      });
      emit(ts + latency + 5, {
        type: 'model_response',
        id: `mr-${rid}`,
        timestamp: iso(ts + latency + 5),
        request_id: rid,
        session_id: s.id,
        model,
        prompt_hash: `ph${n}`,
        response_hash: `rh${n}`,
        response_length: 100 + n * 13,
        config: { temperature: 0.7, max_tokens: 512, stop: null, tools: [] },
        context: { channel: 'web' },
      });
      if (n % 3 !== 0) {
        const fts = ts + latency + 40_000;
        // Feedback arrives up to 4 min after its event time (within the feedback windows' 10 min bound).
        emit(fts + ((n * 61_000) % (4 * MIN)), {
          type: 'user_feedback',
          id: `fb-${rid}`,
          timestamp: iso(fts),
          user_id: n % 5 === 0 ? null : s.user,
          session_id: s.id,
          request_id: rid,
          rating: n % 4 === 0 ? null : 1 + (n % 5),
          liked: n % 2 === 0,
          task_completed: n % 3 === 1,
          response_edited: n % 4 === 1,
          response_regenerated: n % 6 === 1,
          dwell_time_seconds: 5 + (n % 60),
          response_saved: n % 5 === 1,
          response_shared: false,
          comment: null,
          metadata: {},
        });
      }
    }
  }
  for (let m = 0; m <= 320; m += 5)
    for (const [k, component] of ['api-server', 'gpt-4', 'claude-3-5-sonnet'].entries()) {
      const ts = T0 + m * MIN + k * 1000;
      emit(ts, {
        type: 'system_health',
        id: `hl-${m}-${k}`,
        timestamp: iso(ts),
        component,
        status: m % 60 === 30 && k === 1 ? 'degraded' : 'healthy',
        cpu_usage: 0.2 + ((m + k) % 10) / 20,
        memory_usage: 2147483648,
        active_requests: (m + k) % 30,
        queue_depth: (m * 3 + k) % 8,
        error_rate: ((m + k) % 5) / 100,
        metrics: {
          memory_limit: 8589934592,
          max_concurrency: 64,
          budget_remaining: 1000 - m,
          budget_total: 1000,
          budget_reset_at: 1736985600,
        },
      });
    }
  for (const [k, m] of [60, 180].entries())
    emit(T0 + m * MIN, {
      type: 'experiment_result',
      id: `ex-${k}`,
      timestamp: iso(T0 + m * MIN),
      experiment_id: `exp${k}`,
      variant_id: `var-${k}`,
      metric_name: 'conversion_rate',
      metric_value: 0.25 + k / 10,
      sample_size: 1000,
      confidence: 0.95,
      is_winner: k === 1,
      data: {},
    });

  // Five bad records: malformed JSON, an unknown type, a missing field, a wrong type, out of range.
  emit(T0 + 33 * MIN, '{"type":"llm_request","id":"bad-1","timestamp":');
  emit(T0 + 34 * MIN, JSON.stringify({ type: 'llm_telemetry', id: 'bad-2', timestamp: iso(T0 + 34 * MIN) }));
  emit(
    T0 + 35 * MIN,
    JSON.stringify({
      type: 'performance_metrics',
      id: 'bad-3',
      timestamp: iso(T0 + 35 * MIN),
      request_id: 'x',
      latency_ms: 10,
      input_tokens: 1,
      output_tokens: 1,
      cost: 0,
    }),
  );
  emit(
    T0 + 36 * MIN,
    JSON.stringify({
      type: 'performance_metrics',
      id: 'bad-4',
      timestamp: iso(T0 + 36 * MIN),
      request_id: 'y',
      model: 'gpt-4',
      latency_ms: 'fast',
      input_tokens: 1,
      output_tokens: 1,
      cost: 0,
    }),
  );
  emit(
    T0 + 37 * MIN,
    JSON.stringify({
      type: 'user_feedback',
      id: 'bad-5',
      timestamp: iso(T0 + 37 * MIN),
      session_id: 's-a',
      request_id: 'z',
      rating: 9,
    }),
  );
  return out.sort((a, b) => a.at - b.at || a.seq - b.seq).map((e) => e.line);
}
