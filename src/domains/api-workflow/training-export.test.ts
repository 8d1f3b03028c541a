import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WF_FEATURE_NAMES } from './features.js';
import { DEFAULT_WORKFLOW_CONFIG, WorkflowModel } from './model.js';
import { builtinSpec } from './openapi.js';
import { API_WORKFLOW_PARAMS } from './params.js';
import { PathNormalizer } from './paths.js';
import { exportWorkflowTraining } from './training-export.js';

const T0 = Date.UTC(2025, 0, 15, 8);
const call = (i: number, session: string, method: string, path: string, extra: object = {}) =>
  JSON.stringify({
    type: 'api_call',
    id: `c${i}`,
    timestamp: new Date(T0 + i * 30_000).toISOString(),
    session_id: session,
    method,
    path,
    ...extra,
  });

const CALLS: [string, string, string][] = [
  ['A', 'GET', '/v1/invoices'],
  ['A', 'GET', '/v1/invoices/in_1'],
  ['B', 'POST', '/v1/customers'],
  ['A', 'PATCH', '/v1/invoices/in_1'],
  ['B', 'GET', '/v1/customers/cus_9'],
  ['A', 'POST', '/v1/invoices/in_1/lines'],
];

describe('training-set --kind workflow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-train-'));
  const input = join(dir, 'calls.ndjson');
  const lines = CALLS.map(([s, m, p], i) => call(i, s, m, p, { tenant: 'acme' }));
  // One bad line, one other type, one call outside the surface.
  lines.splice(2, 0, '{"type":"api_call","id":"x"');
  lines.push(
    JSON.stringify({
      type: 'user_feedback',
      id: 'f',
      timestamp: new Date(T0).toISOString(),
      session_id: 'A',
      request_id: 'r1',
      task_completed: true,
      response_edited: false,
      response_regenerated: false,
      response_saved: true,
      response_shared: false,
      metadata: {},
    }),
  );
  lines.push(call(99, 'C', 'GET', '/v2/unknown/thing'));
  writeFileSync(input, `${lines.join('\n')}\n`);
  const spec = builtinSpec();

  it('one query per call with exactly its own endpoint labelled 1, features as of just before the call', async () => {
    const out = join(dir, 'all');
    const r = await exportWorkflowTraining({ input, outDir: out, spec, negatives: 0 });
    expect(r.queries).toBe(CALLS.length);
    expect(r.rows).toBe(CALLS.length * spec.endpoints.length);
    expect(r.deadLetters).toEqual({ not_json: 1 });
    expect(r.unmatched).toBe(1);
    expect(r.otherTypes).toBe(1);
    expect(r.lines).toBe(lines.length);

    const csv = readFileSync(join(out, 'train.csv'), 'utf8').trim().split('\n');
    const header = csv[0]!.split(',');
    expect(header.slice(0, 7)).toEqual([
      'query',
      'session_id',
      'event_id',
      'timestamp',
      'candidate_method',
      'candidate_path',
      'label',
    ]);
    expect(header.slice(7)).toEqual([...WF_FEATURE_NAMES]);
    const rows = csv.slice(1).map((l) => l.split(','));
    const groups = readFileSync(join(out, 'train.tsv.query'), 'utf8').trim().split('\n').map(Number);
    expect(groups).toEqual(CALLS.map(() => spec.endpoints.length));
    const tsv = readFileSync(join(out, 'train.tsv'), 'utf8').trim().split('\n');
    expect(tsv).toHaveLength(rows.length);

    // The oracle: a fresh model fed only the calls before query q, ranking the same candidates.
    const normalizer = new PathNormalizer(spec.endpoints.map((e) => e.path));
    const templates = [
      '/v1/invoices',
      '/v1/invoices/{invoice}',
      '/v1/customers',
      '/v1/invoices/{invoice}',
      '/v1/customers/{customer}',
      '/v1/invoices/{invoice}/lines',
    ];
    CALLS.forEach(([session, method], q) => {
      const mine = rows.filter((x) => x[0] === String(q));
      const positives = mine.filter((x) => x[6] === '1');
      expect(positives).toHaveLength(1);
      expect([positives[0]![4], positives[0]![5]]).toEqual([method, templates[q]]);
      expect(positives[0]![2]).toBe(`c${q}`);
      const m = new WorkflowModel(
        { ...DEFAULT_WORKFLOW_CONFIG, halfLifeMs: API_WORKFLOW_PARAMS.halfLife },
        normalizer,
      );
      CALLS.slice(0, q).forEach(([s, mm, p], i) => {
        m.observe({ session: s, ts: T0 + i * 30_000, method: mm, path: p, tenant: 'acme' });
      });
      const cands = mine.map((x) => ({ method: x[4]!, path: x[5]! }));
      const { vectors } = m.rank(session, cands, { tenant: 'acme' });
      mine.forEach((x, k) => {
        const want = WF_FEATURE_NAMES.map((n) => (vectors[k]![n] === null ? '' : String(vectors[k]![n])));
        expect(x.slice(7)).toEqual(want);
      });
    });
    // The first call of a session is a cold start; the third of session A is not.
    expect(rows.find((x) => x[0] === '0')![header.indexOf('cold_start')]).toBe('1');
    expect(rows.find((x) => x[0] === '3')![header.indexOf('cold_start')]).toBe('0');
  });

  it('samples negatives without replacement and shuffles the positive’s place', async () => {
    const out = join(dir, 'sampled');
    const r = await exportWorkflowTraining({ input, outDir: out, spec, negatives: 4, seed: 3 });
    expect(r.rows).toBe(CALLS.length * 5);
    const rows = readFileSync(join(out, 'train.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    const places = new Set<number>();
    for (let q = 0; q < CALLS.length; q++) {
      const mine = rows.filter((x) => x[0] === String(q));
      expect(new Set(mine.map((x) => `${x[4]} ${x[5]}`)).size).toBe(5);
      expect(mine.filter((x) => x[6] === '1')).toHaveLength(1);
      places.add(mine.findIndex((x) => x[6] === '1'));
    }
    expect(places.size).toBeGreaterThan(1);
  });
});
