import type { FeatureRow } from '../../operators/operator.js';
import { formatTimestamp } from '../shared/timestamp.js';

/**
 * The file sink's line format: one JSON object per row with keys in this order —
 * `group, entity_type, entity_id, version, window_start, window_end, event_time, revision,
 * [provisional,] values` — times as RFC 3339 strings with milliseconds.
 *
 * @example
 * formatRow(row) // '{"group":"perf_5min","entity_type":"model",…,"values":{"latency_p50_5min":812}}\n'
 */
export function formatRow(r: FeatureRow): string {
  const obj: Record<string, unknown> = {
    group: r.group,
    entity_type: r.entityType,
    entity_id: r.entityId,
    version: r.version,
    window_start: r.windowStart === null ? null : formatTimestamp(r.windowStart),
    window_end: r.windowEnd === null ? null : formatTimestamp(r.windowEnd),
    event_time: formatTimestamp(r.eventTime),
    revision: r.revision,
  };
  if (r.provisional === true) obj.provisional = true;
  obj.values = r.values;
  return `${JSON.stringify(obj)}\n`;
}
