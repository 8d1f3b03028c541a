/**
 * A sample stream with one known shift (`featurestream generate --shift`): the stream of
 * {@link writeLlmEvents}, byte for byte, except that one model's `performance_metrics` in the
 * stream's last hour carry a multiplied input — its latency (`latency_ms` and `metrics.ttft_ms`)
 * or its cost. A drift report over the stream then has one known answer: that model's latency
 * (or cost) features drift, nothing else does. The shift rewrites the finished records, so the
 * traffic itself (load, errors, sessions) is the unshifted stream's.
 */
import { ConfigError } from '../../../shared/errors.js';
import {
  generateLlmLines,
  type LlmLine,
  type LlmStreamOptions,
  type LlmStreamStats,
  writeLlmEvents,
} from './llm-stream.js';

/** The inputs a shift can multiply, and the `performance_metrics` fields each one is. */
const SHIFT_FIELDS = {
  latency: ['latency_ms', 'ttft_ms'],
  cost: ['cost'],
} as const;

/** Which input `--shift` multiplies. */
export type ShiftInput = keyof typeof SHIFT_FIELDS;

/** One model's input multiplied by `factor` from `from` on (see {@link parseShift}). */
export interface StreamShift {
  readonly model: string;
  readonly input: ShiftInput;
  readonly factor: number;
}

/** The form of a `--shift` value, for messages and help. */
export const SHIFT_FORM =
  'MODEL:INPUT:FACTOR (INPUT latency or cost, FACTOR a number > 0, e.g. gpt-4o:latency:3)';

/**
 * Parses a `--shift` value, `MODEL:INPUT:FACTOR`: e.g. `gpt-4o:latency:3` triples gpt-4o's
 * latency. Throws a {@link ConfigError} naming `--shift` otherwise.
 *
 * @example
 * parseShift('gpt-4o:latency:3'); // { model: 'gpt-4o', input: 'latency', factor: 3 }
 */
export function parseShift(spec: string): StreamShift {
  const bad = (why: string) =>
    new ConfigError(`--shift must be ${SHIFT_FORM}; ${why}, got "${spec}"`, { field: '--shift' });
  const parts = spec.split(':');
  if (parts.length !== 3) throw bad('three parts separated by ":"');
  const [model, input, factorText] = parts as [string, string, string];
  if (model === '') throw bad('MODEL is empty');
  if (!Object.hasOwn(SHIFT_FIELDS, input)) throw bad(`INPUT "${input}" is not latency or cost`);
  const factor = Number(factorText);
  if (factorText.trim() === '' || !Number.isFinite(factor) || factor <= 0 || factor === 1)
    throw bad(`FACTOR "${factorText}" is not a number > 0 other than 1`);
  return { model, input: input as ShiftInput, factor };
}

/** What {@link writeShiftedLlmEvents} wrote. */
export interface ShiftedStreamStats extends LlmStreamStats {
  /** Where the shift starts (ms): the last event time less an hour, down to whole 5 minutes. */
  readonly shiftFrom: number;
  /** `performance_metrics` records of the model that the shift rewrote. */
  readonly shifted: number;
}

const FIVE_MINUTES = 300_000;

/** A number written as the generator writes a rewritten value: at most 6 decimals, `x.0` kept. */
function scaled(text: string, factor: number, float: boolean): string {
  const x = Math.round(Number(text) * factor * 1e6) / 1e6;
  return float && Number.isInteger(x) ? `${x}.0` : String(x);
}

/**
 * Writes the stream of `opts` with `shift` in its last hour: from the last event time less one
 * hour, rounded down to whole 5 minutes (so no 5-minute window is half shifted), to the end.
 * Throws a {@link ConfigError} naming `--shift` when the stream has no such model.
 *
 * @example
 * const s = await writeShiftedLlmEvents('shifted.ndjson', { events: 20_000, seed: 42 }, parseShift('gpt-4o:latency:3'));
 */
export async function writeShiftedLlmEvents(
  path: string,
  opts: LlmStreamOptions,
  shift: StreamShift,
): Promise<ShiftedStreamStats> {
  // First pass (the generator is deterministic): the models and the last event time.
  const models = new Set<string>();
  let last = Number.NEGATIVE_INFINITY;
  for (const l of generateLlmLines(opts)) {
    if (l.ts === null) continue;
    if (l.ts > last) last = l.ts;
    if (l.type === 'model_catalog') {
      const m = (JSON.parse(l.line) as { model?: unknown }).model;
      if (typeof m === 'string') models.add(m);
    }
  }
  if (!models.has(shift.model))
    throw new ConfigError(
      `--shift: the stream has no model "${shift.model}" (it has ${[...models].sort().join(', ')})`,
      { field: '--shift' },
    );
  const shiftFrom = Math.floor((last - 3_600_000) / FIVE_MINUTES) * FIVE_MINUTES;
  const modelText = `"model":${JSON.stringify(shift.model)},`;
  const fields = new RegExp(
    `"(${SHIFT_FIELDS[shift.input].join('|')})":(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)`,
    'g',
  );
  let shifted = 0;
  const map = (l: LlmLine): string => {
    if (l.type !== 'performance_metrics' || l.ts === null || l.ts < shiftFrom || !l.line.includes(modelText))
      return l.line;
    shifted++;
    return l.line.replace(
      fields,
      (_, name: string, value: string) => `"${name}":${scaled(value, shift.factor, value.includes('.'))}`,
    );
  };
  const stats = await writeLlmEvents(path, opts, map);
  return { ...stats, shiftFrom, shifted };
}
