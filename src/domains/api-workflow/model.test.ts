import { describe, expect, it } from 'vitest';
import { addDecayed, decayTo, emptyDecayed } from './counts.js';
import { cosine, sessionPosition } from './features.js';
import { DEFAULT_WORKFLOW_CONFIG, WorkflowModel } from './model.js';
import { sessionFromRow, sessionRowValues } from './session.js';

const S = 1000;
/** Counts that do not fade within the test, so the expected values are the plain counts. */
const model = () => new WorkflowModel({ ...DEFAULT_WORKFLOW_CONFIG, halfLifeMs: 1e18 });

/**
 * Session A (tenant t1): GET /v1/invoices, GET /v1/invoices/in_1, PATCH /v1/invoices/in_1,
 * POST /v1/invoices. Session B: GET /v1/invoices, GET /v1/invoices/in_2.
 * Endpoints E1 = GET list, E2 = GET item, E3 = PATCH item, E4 = POST list; V = 4 + 1, k = 0.1.
 */
function twoSessions(): WorkflowModel {
  const m = model();
  m.observe({ session: 'A', tenant: 't1', ts: 0, method: 'GET', path: '/v1/invoices' });
  m.observe({ session: 'A', tenant: 't1', ts: 60 * S, method: 'GET', path: '/v1/invoices/in_1' });
  m.observe({ session: 'A', tenant: 't1', ts: 120 * S, method: 'PATCH', path: '/v1/invoices/in_1' });
  m.observe({ session: 'A', tenant: 't1', ts: 180 * S, method: 'POST', path: '/v1/invoices' });
  m.observe({ session: 'B', ts: 200 * S, method: 'GET', path: '/v1/invoices' });
  m.observe({ session: 'B', ts: 260 * S, method: 'GET', path: '/v1/invoices/in_2' });
  return m;
}

describe('WF features against hand-computed values', () => {
  it('a warm session (B after E1, E2)', () => {
    const m = twoSessions();
    const { pattern, vectors } = m.rank(
      'B',
      [
        { method: 'PATCH', path: '/v1/invoices/{id}' },
        { method: 'GET', path: '/v1/invoices' },
        { method: 'POST', path: '/v1/invoices/in_2/pay' },
      ],
      { similarity: (i) => (i === 0 ? 0.5 : null) },
    );
    // [browse, browse]: browse_edit_save and browse_confirm_save both score 1/3 × 1; the first wins.
    expect(pattern.name).toBe('browse_edit_save');
    expect(pattern.confidence).toBeCloseTo(1 / 3, 12);
    const [patch, list, pay] = vectors;
    expect(patch!.semantic_similarity).toBe(0.5);
    // c(E2→E3) = 1 (session A), c(E2) = 1: (1 + 0.1) / (1 + 0.1·5)
    expect(patch!.bigram_prob).toBeCloseTo(1.1 / 1.5, 12);
    // c(E1,E2→E3) = 1, c(E1,E2) = 1, β = 1: (1 + bigram) / 2
    expect(patch!.trigram_prob).toBeCloseTo((1 + 1.1 / 1.5) / 2, 12);
    // browse_edit_save|browse: A's 2nd (browse) and 3rd (edit) calls, B's 2nd (browse): edit 1 of 3.
    expect(patch!.transition_prob).toBeCloseTo(1.1 / 3.5, 12);
    expect(patch!.pattern_confidence).toBeCloseTo(1 / 3, 12);
    // The last call's resource is `invoices`.
    expect(patch!.resource_continuity).toBe(1);
    // After browse: GET 2, PATCH 1 of 3; 6 methods: (1 + 0.1) / (3 + 0.6)
    expect(patch!.method_prior).toBeCloseTo(1.1 / 3.6, 12);
    // Calls weigh exp(−age / 1 h) at the last call (260 s); E3 was called at 120 s.
    const w = (t: number) => Math.exp(-(260 - t) / 3600);
    const all = w(0) + w(60) + w(120) + w(180) + w(200) + w(260);
    // (the half-life τ·ln 2 is rounded to the ms)
    expect(patch!.candidate_popularity).toBeCloseTo(w(120) / all, 9);
    expect(patch!.recency).toBe(0);
    expect(patch!.session_position).toBeCloseTo(Math.log(3) / Math.log(101), 12);
    expect(patch!.cold_start).toBe(0);

    expect(list!.bigram_prob).toBeCloseTo(0.1 / 1.5, 12);
    // no (E1,E2 → E1): (0 + bigram) / 2
    expect(list!.trigram_prob).toBeCloseTo(0.1 / 1.5 / 2, 12);
    expect(list!.transition_prob).toBeCloseTo(2.1 / 3.5, 12);
    expect(list!.method_prior).toBeCloseTo(2.1 / 3.6, 12);
    // E1 was B's call 60 s before its last one; τ = 600 s.
    expect(list!.recency).toBeCloseTo(Math.exp(-0.1), 12);
    expect(list!.candidate_popularity).toBeCloseTo((w(0) + w(200)) / all, 9);
    expect(list!.semantic_similarity).toBeNull();

    // pay: a confirm never seen; POST never seen after browse.
    expect(pay!.bigram_prob).toBeCloseTo(0.1 / 1.5, 12);
    expect(pay!.transition_prob).toBeCloseTo(0.1 / 3.5, 12);
    expect(pay!.method_prior).toBeCloseTo(0.1 / 3.6, 12);
    expect(pay!.candidate_popularity).toBe(0);
    expect(pay!.resource_continuity).toBe(1);
  });

  it('a missing session is a cold start from the begin-of-session counts', () => {
    const m = twoSessions();
    const { pattern, vectors } = m.rank('nobody', [
      { method: 'GET', path: '/v1/invoices' },
      { method: 'POST', path: '/v1/invoices' },
    ]);
    expect(pattern).toEqual({ name: 'none', confidence: 0 });
    const [list, create] = vectors;
    // Both sessions started with E1: c(^→E1) = 2, c(^) = 2.
    expect(list!.bigram_prob).toBeCloseTo(2.1 / 2.5, 12);
    expect(list!.trigram_prob).toBeCloseTo((2 + 2.1 / 2.5) / 3, 12);
    expect(create!.bigram_prob).toBeCloseTo(0.1 / 2.5, 12);
    // none|start: browse 2.
    expect(list!.transition_prob).toBeCloseTo(2.1 / 2.5, 12);
    expect(create!.method_prior).toBeCloseTo(0.1 / 2.6, 12);
    expect(list!).toMatchObject({ cold_start: 1, session_position: 0, recency: 0, resource_continuity: 0 });
  });

  it('per-tenant n-grams when the tenant has counts', () => {
    const m = twoSessions();
    // Tenant t1 saw only session A: c(^→E1) = 1 of 1, V = 4 + 1.
    const t = m.rank('nobody', [{ method: 'GET', path: '/v1/invoices' }], { tenant: 't1' });
    expect(t.vectors[0]!.bigram_prob).toBeCloseTo(1.1 / 1.5, 12);
    const unknown = m.rank('nobody', [{ method: 'GET', path: '/v1/invoices' }], { tenant: 'other' });
    expect(unknown.vectors[0]!.bigram_prob).toBeCloseTo(2.1 / 2.5, 12);
  });

  it('resource continuity decays with distance; recency with time', () => {
    const m = model();
    m.observe({ session: 'C', ts: 0, method: 'GET', path: '/v1/customers/cus_1' });
    m.observe({ session: 'C', ts: 10 * S, method: 'GET', path: '/v1/invoices' });
    m.observe({ session: 'C', ts: 20 * S, method: 'GET', path: '/v1/products' });
    const [v] = m.rank('C', [{ method: 'PATCH', path: '/v1/customers/{id}' }]).vectors;
    expect(v!.resource_continuity).toBe(0.25);
    const [again] = m.rank('C', [{ method: 'GET', path: '/v1/customers/cus_2' }]).vectors;
    expect(again!.recency).toBeCloseTo(Math.exp(-20 / 600), 12);
  });

  it('popularity weighs calls by exp(−age / 1 h)', () => {
    const m = model();
    m.observe({ session: 'D', ts: 0, method: 'GET', path: '/v1/a' });
    m.observe({ session: 'D', ts: 3_600 * S, method: 'GET', path: '/v1/b' });
    const [a, b, c] = m.rank('D', [
      { method: 'GET', path: '/v1/a' },
      { method: 'GET', path: '/v1/b' },
      { method: 'GET', path: '/v1/c' },
    ]).vectors;
    expect(a!.candidate_popularity).toBeCloseTo(Math.exp(-1) / (1 + Math.exp(-1)), 7);
    expect(b!.candidate_popularity).toBeCloseTo(1 / (1 + Math.exp(-1)), 7);
    expect(c!.candidate_popularity).toBe(0);
    expect(model().rank('x', [{ method: 'GET', path: '/v1/a' }]).vectors[0]!.candidate_popularity).toBeNull();
  });
});

describe('building blocks', () => {
  it('decayed counts halve per half-life and do not depend on arrival order', () => {
    expect(decayTo(8, 0, 2_000, 1_000)).toBe(2);
    expect(decayTo(8, 5, 0, 1_000)).toBe(8);
    const a = emptyDecayed(1);
    addDecayed(a, 0, 0, 1_000);
    addDecayed(a, 0, 1_000, 1_000);
    const b = emptyDecayed(1);
    addDecayed(b, 0, 1_000, 1_000);
    addDecayed(b, 0, 0, 1_000);
    expect(a).toEqual({ c: [1.5], t: 1_000 });
    expect(b).toEqual(a);
  });

  it('cosine and session position', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 1], [2, 2])).toBeCloseTo(1, 12);
    expect(cosine(null, [1])).toBeNull();
    expect(cosine([0, 0], [1, 1])).toBeNull();
    expect(sessionPosition(0)).toBe(0);
    expect(sessionPosition(100)).toBe(1);
    expect(sessionPosition(1000)).toBe(1);
  });

  it('a session row round-trips', () => {
    const m = twoSessions();
    const h = m.sessions.get('A')!;
    const back = sessionFromRow(sessionRowValues(h, DEFAULT_WORKFLOW_CONFIG.patterns));
    expect(back).toEqual(h);
  });
});
