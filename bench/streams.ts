/**
 * The benchmark streams shared by `bench:features` and `bench:compare`: the generator's
 * realistic mix of all event types, with request prompts made new where the bench asks for it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { writeLlmEvents } from '../src/domains/llm/generate/llm-stream.js';

/** What a heavy stream holds. */
export interface HeavyStream {
  /** Events written (non-empty lines). */
  readonly events: number;
  /** Requests whose prompt was made new. */
  readonly newPrompts: number;
}

/**
 * Returns a line with its `llm_request` prompt made new (a unique suffix from `next()`), or the
 * line unchanged when it is not a request.
 */
export function newPromptLine(line: string, next: () => number): string {
  if (!line.includes('"llm_request"')) return line;
  try {
    const e = JSON.parse(line) as { type?: string; prompt?: unknown };
    if (e.type !== 'llm_request' || typeof e.prompt !== 'string') return line;
    e.prompt = `${e.prompt} (ref ${next().toString(36)})`;
    return JSON.stringify(e);
  } catch {
    return line;
  }
}

/**
 * Writes the throughput issue's stream to `path`: about 40 % of all events are requests, each with
 * a new prompt. A generated stream of `baseEvents` keeps every request (prompt made new) and an
 * evenly spread share of the other events, so about `baseEvents / 2.4` events remain.
 */
export async function writeHeavyStream(
  path: string,
  baseEvents: number,
  seed = 12,
  next: () => number = counter(),
): Promise<HeavyStream> {
  const base = `${path}.base`;
  await writeLlmEvents(base, { events: baseEvents, seed });
  const baseLines = readFileSync(base, 'utf8').split('\n');
  const isRequest = (l: string) => l.includes('"type":"llm_request"');
  const requestLines = baseLines.filter(isRequest).length;
  const keep = (1.45 * requestLines) / Math.max(1, baseLines.length - requestLines);
  const kept = baseLines.filter((l, i) => isRequest(l) || (i * 0.6180339887498949) % 1 < keep);
  let made = 0;
  const counting = () => {
    made++;
    return next();
  };
  writeFileSync(path, kept.map((l) => newPromptLine(l, counting)).join('\n'));
  return { events: kept.filter((l) => l.length > 0).length, newPrompts: made };
}

/** A counter starting at 0, the suffix source of `newPromptLine`. */
export function counter(): () => number {
  let k = 0;
  return () => k++;
}
