/**
 * `npx vitest bench --run src/shared/timestamp.bench.ts`: `parseTimestamp` on the collector's
 * microsecond RFC 3339 form (the hot path of every event) against `Date.parse`.
 */
import { bench, describe } from 'vitest';
import { formatTimestamp, parseTimestamp } from './timestamp.js';

const inputs = Array.from(
  { length: 1000 },
  (_, i) => `${formatTimestamp(1_736_937_000_000 + i * 7_777).slice(0, 23)}456789Z`,
);

describe('parse 1000 RFC 3339 timestamps', () => {
  bench('parseTimestamp', () => {
    for (const s of inputs) parseTimestamp(s);
  });
  bench('Date.parse', () => {
    for (const s of inputs) Date.parse(s);
  });
});
