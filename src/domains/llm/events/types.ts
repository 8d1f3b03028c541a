/**
 * What the decoder hands to the topology: a validated event, its type, its event time in
 * integer milliseconds since the epoch, and the parsed object as it came (unknown extra fields
 * kept).
 */
import type { DecodedEvent as EngineEvent, ReasonCode } from '../../../../operators/index.js';

export { REASON_CODES, type ReasonCode } from '../../../../operators/index.js';

export interface DecodedEvent extends EngineEvent {
  readonly type: EventType;
  /** Event time, ms since the Unix epoch (fractional digits beyond ms truncated toward -∞). */
  readonly ts: number;
  readonly body: Readonly<Record<string, unknown>>;
}

export const EVENT_TYPES = [
  'performance_metrics',
  'user_feedback',
  'model_response',
  'system_health',
  'experiment_result',
  'llm_request',
  'model_catalog',
  'api_call',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type DecodeResult =
  | { readonly ok: true; readonly event: DecodedEvent }
  | { readonly ok: false; readonly reason: ReasonCode; readonly detail: string };
