/**
 * `npx vitest bench --run src/domains/llm/events/decode.bench.ts`: decodeLine on a typical collector
 * `performance_metrics` line against JSON.parse alone (the floor) and the zod reference.
 */
import { readFileSync } from 'node:fs';
import { bench, describe } from 'vitest';
import { decodeLine } from './decode.js';
import { decodeValueWithZod } from './schemas.js';

const perf = readFileSync(new URL('./fixtures/collector.ndjson', import.meta.url), 'utf8').split('\n')[0]!;
const lines = Array.from({ length: 1000 }, (_, i) =>
  perf.replace('1234.5', String(1000 + i * 1.5)).replace('446655440000', String(446_655_440_000 + i)),
);

describe('decode 1000 performance_metrics lines', () => {
  bench('JSON.parse alone', () => {
    for (const l of lines) JSON.parse(l);
  });
  bench('decodeLine', () => {
    for (const l of lines) decodeLine(l);
  });
  bench('JSON.parse + zod (decodeValueWithZod)', () => {
    for (const l of lines) decodeValueWithZod(JSON.parse(l));
  });
});
