/**
 * `generate --kind api --spec FILE` over two real API documents: GitHub's (npm
 * `@octokit/openapi`) and Asana's (vendored, test/fixtures/openapi). Every generated path must
 * normalise back to the template it was made from through the document itself, and the shipped
 * pattern detector must recognise the labelled sessions (with 10 % noise) as it does on the
 * shipped surface.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeLine } from '../../llm/events/decode.js';
import { loadOpenApi } from '../openapi.js';
import { detectPattern } from '../patterns.js';
import { PathNormalizer } from '../paths.js';
import { workflowState } from '../states.js';
import { familiesFromSpec } from './api-families.js';
import { generateApiCalls, generateApiEvents } from './api-stream.js';

const require = createRequire(import.meta.url);
const SPECS = [
  { name: 'GitHub', file: require.resolve('@octokit/openapi/generated/api.github.com.json') },
  {
    name: 'Asana',
    file: fileURLToPath(new URL('../../../../test/fixtures/openapi/asana.json.gz', import.meta.url)),
  },
];

describe.each(SPECS)('sessions over $name', ({ file }) => {
  const spec = loadOpenApi(file);
  const families = familiesFromSpec(spec);
  const calls = generateApiCalls({ events: 6_000, seed: 5, noise: 0.1, families });

  it('derives bounded families whose flows follow their patterns’ states', () => {
    expect(families.length).toBeGreaterThan(5);
    expect(families.length).toBeLessThanOrEqual(24);
    for (const f of families) {
      const bes = f.flows.browse_edit_save?.map((s) => workflowState(s.m, s.p));
      if (bes !== undefined) expect(bes.slice(-2)).toEqual(['edit', 'save']);
      const bcs = f.flows.browse_confirm_save?.map((s) => workflowState(s.m, s.p));
      if (bcs !== undefined) expect(bcs.slice(-2)).toEqual(['confirm', 'save']);
      const csc = f.flows.cold_start_create;
      if (csc !== undefined) expect(workflowState(csc[0]!.m, csc[0]!.p)).toBe('save');
    }
  });

  it('every concrete path normalises to its template through the document; lines decode', () => {
    const n = new PathNormalizer(spec.endpoints.map((e) => e.path));
    const known = new Set(spec.endpoints.map((e) => `${e.method} ${e.path}`));
    expect(calls).toHaveLength(6_000);
    for (const c of calls) {
      expect(c.path).not.toMatch(/[{}]/);
      expect(n.normalize(c.path), c.path).toEqual({ template: c.template, fromSpec: true });
      expect(known.has(`${c.method} ${c.template}`)).toBe(true);
    }
    for (const l of generateApiEvents({ events: 500, seed: 5, families }))
      expect(decodeLine(l).ok).toBe(true);
  });

  it('the pattern detector recognises > 90 % of the labelled sessions', () => {
    const sessions = new Map<string, { label: string; states: ReturnType<typeof workflowState>[] }>();
    for (const c of calls) {
      const s = sessions.get(c.session) ?? { label: c.pattern, states: [] };
      sessions.set(c.session, s);
      s.states.push(workflowState(c.method, c.template));
    }
    const labels = new Set([...sessions.values()].map((s) => s.label));
    expect(labels.has('browse_edit_save')).toBe(true);
    expect(labels.has('cold_start_create')).toBe(true);
    let right = 0;
    for (const s of sessions.values()) if (detectPattern(s.states).name === s.label) right++;
    console.log(
      `${spec.title}: ${families.length} families, ${sessions.size} sessions, patterns ${[...labels].join(', ')}, accuracy ${((right / sessions.size) * 100).toFixed(1)} %`,
    );
    expect(right / sessions.size).toBeGreaterThan(0.9);
  });
});
