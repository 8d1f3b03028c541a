import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support.js';
import { ConfigError } from '../../../shared/errors.js';
import { generateLlmLines, writeLlmEvents } from './llm-stream.js';
import { parseShift, writeShiftedLlmEvents } from './shift.js';

describe('parseShift', () => {
  it('reads MODEL:INPUT:FACTOR and names --shift for anything else', () => {
    expect(parseShift('gpt-4o:latency:3')).toEqual({ model: 'gpt-4o', input: 'latency', factor: 3 });
    expect(parseShift('claude-3-haiku:cost:0.5')).toEqual({
      model: 'claude-3-haiku',
      input: 'cost',
      factor: 0.5,
    });
    for (const bad of [
      'gpt-4o',
      'gpt-4o:latency',
      ':latency:3',
      'gpt-4o:rating:3',
      'gpt-4o:latency:-2',
      'gpt-4o:latency:1',
      'gpt-4o:latency:',
      'a:b:c:d',
    ]) {
      expect(() => parseShift(bad), bad).toThrow(ConfigError);
      try {
        parseShift(bad);
      } catch (err) {
        expect((err as ConfigError).field).toBe('--shift');
      }
    }
  });
});

describe('writeShiftedLlmEvents', () => {
  it("changes only the model's performance_metrics latency in the last hour, times the factor", async () => {
    const dir = tempDir('fs-shift-');
    const opts = { events: 12_000, seed: 42 };
    const plain = join(dir, 'plain.ndjson');
    const shifted = join(dir, 'shifted.ndjson');
    await writeLlmEvents(plain, opts);
    const s = await writeShiftedLlmEvents(shifted, opts, { model: 'gpt-4o', input: 'latency', factor: 3 });
    // The last event time less an hour, down to whole 5 minutes.
    expect(s.shiftFrom % 300_000).toBe(0);
    expect(s.last - s.shiftFrom).toBeGreaterThanOrEqual(3_600_000);
    expect(s.last - s.shiftFrom).toBeLessThan(3_900_000);
    const a = readFileSync(plain, 'utf8').split('\n');
    const b = readFileSync(shifted, 'utf8').split('\n');
    expect(b.length).toBe(a.length);
    let changed = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue;
      changed++;
      const x = JSON.parse(a[i]!);
      const y = JSON.parse(b[i]!);
      expect(x.type).toBe('performance_metrics');
      expect(x.model).toBe('gpt-4o');
      expect(Date.parse(x.timestamp)).toBeGreaterThanOrEqual(s.shiftFrom);
      expect(y.latency_ms).toBeCloseTo(x.latency_ms * 3, 5);
      if (x.metrics?.ttft_ms !== undefined) expect(y.metrics.ttft_ms).toBeCloseTo(x.metrics.ttft_ms * 3, 5);
      expect({ ...y, latency_ms: 0, metrics: { ...y.metrics, ttft_ms: 0 } }).toEqual({
        ...x,
        latency_ms: 0,
        metrics: { ...x.metrics, ttft_ms: 0 },
      });
    }
    expect(changed).toBe(s.shifted);
    expect(changed).toBeGreaterThan(50);
    // Every well-formed gpt-4o performance record from the shift on was changed (malformed copies
    // are not: the generator's ground truth tells them apart).
    const due = [...generateLlmLines(opts)].filter(
      (l) =>
        l.ts !== null &&
        l.ts >= s.shiftFrom &&
        l.type === 'performance_metrics' &&
        l.line.includes('"model":"gpt-4o",') &&
        /"latency_ms":[1-9]/.test(l.line),
    ).length;
    expect(changed).toBe(due);
  }, 60_000);

  it('refuses a model the stream does not have, naming --shift and the models', async () => {
    const out = join(tempDir('fs-shift-'), 'x.ndjson');
    await expect(
      writeShiftedLlmEvents(out, { events: 100, seed: 1 }, { model: 'gpt-5', input: 'cost', factor: 2 }),
    ).rejects.toThrow(/--shift: the stream has no model "gpt-5" \(it has .*gpt-4o.*\)/);
  });
});
