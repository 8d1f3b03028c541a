/**
 * Bad input: every kind of malformed record goes to the dead-letter file with its raw line, line
 * number, byte offset and a reason code; it is counted by reason; the run continues and the
 * valid events around it are processed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lines, runCli, summaryOf, tempDir } from './support.js';

const good = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'performance_metrics',
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    timestamp: `2025-01-15T10:${String(i % 60).padStart(2, '0')}:00.000Z`,
    request_id: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
    model: 'gpt-4',
    config_id: null,
    latency_ms: 100 + i,
    input_tokens: 10,
    output_tokens: 20,
    cost: 0.01,
    quality_score: null,
    error: null,
    metrics: { retries: 0 },
    ...extra,
  });

const BAD: Array<[string, string]> = [
  ['not_json', '{"type": "performance_metrics", '],
  ['unknown_type', JSON.stringify({ type: 'telepathy', id: 'x', timestamp: '2025-01-15T10:00:00Z' })],
  ['missing_field', good(1).replace('"model":"gpt-4",', '')],
  ['wrong_type', good(2, { latency_ms: 'fast' })],
  ['non_finite', good(3).replace('"latency_ms":103', '"latency_ms":1e999')],
  ['out_of_range', good(4, { latency_ms: -5 })],
  ['bad_timestamp', good(5, { timestamp: 'yesterday at noon' })],
];

describe('bad input', () => {
  it('dead-letters each malformed record with its reason, counts it, and goes on', async () => {
    const dir = tempDir('fs-bad-');
    const input = join(dir, 'events.ndjson');
    const all: string[] = [];
    for (let i = 0; i < 20; i++) all.push(good(100 + i));
    const badLine = new Map<string, number>();
    for (const [reason, line] of BAD) {
      all.push(line);
      badLine.set(reason, all.length);
      all.push(good(200 + all.length));
    }
    writeFileSync(input, `${all.join('\n')}\n`);
    const res = await runCli([
      'run',
      '--input',
      input,
      '--out',
      join(dir, 'rows.ndjson'),
      '--dead-letters',
      join(dir, 'dl.ndjson'),
      '--summary-json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const s = summaryOf(res);
    expect(s.eventsRead).toBe(all.length);
    expect(s.deadLetters).toBe(BAD.length);
    for (const [reason] of BAD) expect(s.deadLettersByReason[reason], reason).toBe(1);

    const dl = lines(join(dir, 'dl.ndjson')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(dl).toHaveLength(BAD.length);
    const text = readFileSync(input);
    for (const [reason, raw] of BAD) {
      const d = dl.find((x) => x.reason === reason)!;
      expect(d, reason).toBeDefined();
      expect(d.raw).toBe(raw);
      expect(d.line).toBe(badLine.get(reason));
      expect(typeof d.detail).toBe('string');
      // the offset points at the raw bytes of the line
      expect(
        text.subarray(d.offset as number, (d.offset as number) + Buffer.byteLength(raw)).toString(),
      ).toBe(raw);
    }
    // the valid events were all processed: one model, and windows fired
    const rows = lines(join(dir, 'rows.ndjson')).map((l) => JSON.parse(l) as { group: string });
    expect(rows.some((r) => r.group === 'perf_5min')).toBe(true);
  });

  it('dead-letters an oversize line', async () => {
    const dir = tempDir('fs-bad-');
    const input = join(dir, 'events.ndjson');
    const huge = good(1, { padding: 'x'.repeat(1_100_000) });
    writeFileSync(input, `${good(0)}\n${huge}\n${good(2)}\n`);
    const res = await runCli(['run', '--input', input, '--out', join(dir, 'rows.ndjson'), '--summary-json']);
    expect(res.code, res.stderr).toBe(0);
    expect(summaryOf(res).deadLettersByReason).toEqual({ oversize: 1 });
  });
});
