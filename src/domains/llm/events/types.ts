import type { DecodedEvent as EngineEvent, ReasonCode } from '../../../../operators/index.js';

export { REASON_CODES, type ReasonCode } from '../../../../operators/index.js';

/** An event of the `llm-events` schema: the engine's decoded event, with one of its eight types. */
export interface DecodedEvent extends EngineEvent {
  readonly type: EventType;
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
