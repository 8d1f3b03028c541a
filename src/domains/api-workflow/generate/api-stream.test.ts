import { describe, expect, it } from 'vitest';
import { decodeLine } from '../../llm/events/decode.js';
import { builtinSpec } from '../openapi.js';
import { detectPattern } from '../patterns.js';
import { PathNormalizer } from '../paths.js';
import { workflowState } from '../states.js';
import { generateApiCalls, generateApiEvents } from './api-stream.js';

describe('generate --kind api', () => {
  it('is deterministic, in time order, decodable, and every path normalises to its template through the shipped spec', () => {
    const a = [...generateApiEvents({ events: 2_000, seed: 3 })];
    expect(a).toEqual([...generateApiEvents({ events: 2_000, seed: 3 })]);
    expect(a).toHaveLength(2_000);
    const spec = builtinSpec();
    const normalizer = new PathNormalizer(spec.endpoints.map((e) => e.path));
    const known = new Set(spec.endpoints.map((e) => `${e.method} ${e.path}`));
    let last = Number.NEGATIVE_INFINITY;
    for (const c of generateApiCalls({ events: 2_000, seed: 3 })) {
      expect(c.ts).toBeGreaterThanOrEqual(last);
      last = c.ts;
      expect(normalizer.normalize(c.path)).toEqual({ template: c.template, fromSpec: true });
      expect(known.has(`${c.method} ${c.template}`), `${c.method} ${c.template}`).toBe(true);
    }
    for (const l of a) expect(decodeLine(l).ok).toBe(true);
  });

  it('malformed lines go to dead letters with reasons', () => {
    const reasons = new Map<string, number>();
    for (const l of generateApiEvents({ events: 3_000, seed: 4, badFraction: 0.05 })) {
      const r = decodeLine(l);
      if (!r.ok) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    }
    expect([...reasons.keys()].sort()).toEqual(['missing_field', 'not_json', 'out_of_range']);
    const bad = [...reasons.values()].reduce((x, y) => x + y, 0);
    expect(bad).toBeGreaterThan(100);
    expect(bad).toBeLessThan(200);
  });

  it('pattern accuracy > 90 % on labelled sessions with 10 % noise', () => {
    const calls = generateApiCalls({ events: 20_000, seed: 11, noise: 0.1 });
    const noiseShare = calls.filter((c) => c.noise).length / calls.length;
    expect(noiseShare).toBeGreaterThan(0.07);
    const sessions = new Map<string, { label: string; states: ReturnType<typeof workflowState>[] }>();
    for (const c of calls) {
      let s = sessions.get(c.session);
      if (s === undefined) {
        s = { label: c.pattern, states: [] };
        sessions.set(c.session, s);
      }
      s.states.push(workflowState(c.method, c.template));
    }
    let right = 0;
    for (const s of sessions.values()) if (detectPattern(s.states).name === s.label) right++;
    const accuracy = right / sessions.size;
    console.log(
      `pattern accuracy ${(accuracy * 100).toFixed(1)} % over ${sessions.size} sessions, noise ${(noiseShare * 100).toFixed(1)} % of calls`,
    );
    expect(accuracy).toBeGreaterThan(0.9);
  });
});
