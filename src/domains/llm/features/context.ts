/**
 * Context features, catalog A5 (group `context`, entity `system`): pure functions of one
 * `system_health` event body and its event time. CTX_007 model_availability is a share over
 * the last 5 minutes of status reports, kept by the engine and passed in; CTX_008 comes from the
 * `timeout_5min` window and is not computed here.
 */
import { parseTimestamp } from '../../../shared/timestamp.js';
import { type Body, clamp, mapField, numField, ratio } from './read.js';

/** Values of the `context` group computed per event (all but CTX_008), keyed by feature name. */
export type ContextFeatureValues = {
  readonly system_load_cpu: number | null;
  readonly system_load_memory: number | null;
  readonly queue_depth_requests: number | null;
  readonly concurrent_requests: number | null;
  readonly available_budget_ratio: number | null;
  readonly time_until_budget_reset: number | null;
  readonly model_availability: number | null;
  readonly api_quota_remaining: number | null;
  readonly region_load: number | null;
};

const MS_PER_HOUR = 3_600_000;

/**
 * An instant given as an epoch number or an RFC 3339 string; null for anything else. A number
 * below 10^11 is epoch *seconds* (what the upstream collector writes, e.g. 1736985600.0), a
 * larger one epoch milliseconds (10^11 s is the year 5138, 10^11 ms is 1973).
 *
 * @example
 * instantMs('2025-01-16T00:00:00Z'); // 1736985600000
 * instantMs(1736985600); // 1736985600000
 * instantMs(1736985600000); // 1736985600000
 */
export function instantMs(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? (Math.abs(v) < 1e11 ? v * 1000 : v) : null;
  if (typeof v === 'string') return parseTimestamp(v);
  return null;
}

/**
 * CTX_001–CTX_007, CTX_009, CTX_010 of one `system_health` event, keyed by feature name.
 *
 * - CTX_001 cpu_usage, CTX_009 metrics.api_quota_remaining, CTX_010 metrics.region_load:
 *   clamped to [0, 1].
 * - CTX_002 memory_usage / metrics.memory_limit, CTX_004 active_requests /
 *   metrics.max_concurrency, CTX_005 metrics.budget_remaining / metrics.budget_total: clamped to
 *   [0, 1]; null when either side is missing or the divisor is 0.
 * - CTX_003: ln(1 + queue_depth) / ln(1001), max 1.
 * - CTX_006: hours from `ts` until metrics.budget_reset_at (epoch seconds or ms, or RFC 3339; see {@link instantMs}) / 24,
 *   clamped to [0, 1] (a reset already past reads as 0).
 * - CTX_007: `availability` as given, clamped to [0, 1].
 *
 * @example
 * contextFeatures({ cpu_usage: 0.5, metrics: {} }, ts, null).system_load_cpu; // 0.5
 */
export function contextFeatures(body: Body, ts: number, availability: number | null): ContextFeatureValues {
  const metrics = mapField(body, 'metrics');
  const queue = numField(body, 'queue_depth');
  const reset = instantMs(metrics?.budget_reset_at ?? body.budget_reset_at);
  return {
    system_load_cpu: clamp(numField(body, 'cpu_usage'), 0, 1),
    system_load_memory: clamp(ratio(numField(body, 'memory_usage'), numField(metrics, 'memory_limit')), 0, 1),
    queue_depth_requests:
      queue === null ? null : Math.min(1, Math.log(1 + Math.max(0, queue)) / Math.log(1001)),
    concurrent_requests: clamp(
      ratio(numField(body, 'active_requests'), numField(metrics, 'max_concurrency')),
      0,
      1,
    ),
    available_budget_ratio: clamp(
      ratio(numField(metrics, 'budget_remaining'), numField(metrics, 'budget_total')),
      0,
      1,
    ),
    time_until_budget_reset: reset === null ? null : clamp((reset - ts) / MS_PER_HOUR / 24, 0, 1),
    model_availability: clamp(
      availability !== null && Number.isFinite(availability) ? availability : null,
      0,
      1,
    ),
    api_quota_remaining: clamp(numField(metrics, 'api_quota_remaining'), 0, 1),
    region_load: clamp(numField(metrics, 'region_load'), 0, 1),
  };
}
