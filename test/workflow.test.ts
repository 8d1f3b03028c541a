/**
 * The `api-workflow` topology end to end (from the build): its stored rows equal the in-memory
 * model's state fed the same decoded events, bad records are dead letters with reasons, and a
 * run SIGKILLed several times and restarted leaves the same online store (embedded) and rows as
 * an uninterrupted run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeLine } from '../src/domains/llm/events/decode.js';
import { writeApiEvents } from '../src/domains/api-workflow/generate/api-stream.js';
import Fastify from 'fastify';
import { ServeMetrics } from '../src/serve/metrics.js';
import { registerWorkflowRoute } from '../src/domains/api-workflow/serve-routes.js';
import { openOnlineStore } from '../src/stores/online-store.js';
import { DEFAULT_WORKFLOW_CONFIG, WorkflowModel } from '../src/domains/api-workflow/model.js';
import { builtinSpec, loadOpenApi } from '../src/domains/api-workflow/openapi.js';
import { PathNormalizer } from '../src/domains/api-workflow/paths.js';
import { sessionFromRow } from '../src/domains/api-workflow/session.js';
import { TRANSITION_VALUE_NAMES } from '../src/domains/api-workflow/stats.js';
import { API_WORKFLOW_PARAMS } from '../src/domains/api-workflow/params.js';
import { committedCheckpoint, waitFor } from './stores-support.js';
import { lines, runCli, sleep, startCli, summaryOf, tempDir } from './support.js';

const dir = tempDir('fs-workflow-');
const input = join(dir, 'api.ndjson');
const EVENTS = 2_000;

function args(tag: string, workers = '2'): string[] {
  return [
    'run',
    '--topology',
    'api-workflow',
    '--input',
    input,
    '--out',
    join(dir, `${tag}-rows.ndjson`),
    '--dead-letters',
    join(dir, `${tag}-dl.ndjson`),
    '--state-dir',
    join(dir, `${tag}-state`),
    '--online',
    `embedded:${join(dir, `${tag}-online`)}`,
    '--workers',
    workers,
    '--checkpoint-interval',
    '200',
    '--summary-json',
  ];
}

type JsonRow = {
  group: string;
  entity_type: string;
  entity_id: string;
  revision: number;
  event_time: string;
  values: Record<string, number | null>;
};

/** The row the online store keeps per (group, entity): latest event time, then highest revision. */
function latest(rows: readonly JsonRow[]): Map<string, JsonRow> {
  const m = new Map<string, JsonRow>();
  for (const r of rows) {
    const k = `${r.group}/${r.entity_id}`;
    const prev = m.get(k);
    if (
      prev === undefined ||
      r.event_time > prev.event_time ||
      (r.event_time === prev.event_time && r.revision > prev.revision)
    )
      m.set(k, r);
  }
  return m;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe('api-workflow topology', () => {
  beforeAll(async () => {
    await writeApiEvents(input, { events: EVENTS, seed: 21, badFraction: 0.004 });
  });

  it('rows equal the in-memory model fed the same events; bad records are dead letters', async () => {
    const r = await runCli(args('clean'));
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s.eventsRead).toBe(EVENTS);
    expect(s.deadLetters).toBeGreaterThan(0);
    for (const d of lines(join(dir, 'clean-dl.ndjson'))) {
      expect(['not_json', 'missing_field', 'out_of_range']).toContain(JSON.parse(d).reason);
    }

    const model = new WorkflowModel(
      { ...DEFAULT_WORKFLOW_CONFIG, halfLifeMs: API_WORKFLOW_PARAMS.halfLife },
      new PathNormalizer(builtinSpec().endpoints.map((e) => e.path)),
    );
    let good = 0;
    for (const l of lines(input)) {
      const d = decodeLine(l);
      if (!d.ok) continue;
      good++;
      const b = d.event.body as Record<string, string>;
      model.observe({
        session: b.session_id!,
        ts: d.event.ts,
        method: b.method!,
        path: b.path!,
        tenant: b.tenant ?? null,
      });
    }
    expect(good).toBe(EVENTS - s.deadLetters);

    const rows = latest(lines(join(dir, 'clean-rows.ndjson')).map((l) => JSON.parse(l) as JsonRow));
    let checked = 0;
    for (const [k, row] of rows) {
      const [group] = k.split('/');
      const id = row.entity_id;
      if (group === 'wf_session') {
        expect(sessionFromRow(row.values)).toEqual(model.sessions.get(id));
      } else if (group === 'wf_ngram' || group === 'wf_ngram_tenant') {
        const [scope, key] = [id.slice(0, id.indexOf('|')), id.slice(id.indexOf('|') + 1)];
        const counts = scope === '*' ? model.global : model.tenants.get(scope)!;
        if (key === '#') expect(row.values.count).toBe(counts.vocab.size);
        else {
          const d = counts.counts.get(key)!;
          expect(close(row.values.count!, d.c[0]!), `${k}: ${row.values.count} vs ${d.c[0]}`).toBe(true);
          expect(Date.parse(row.event_time)).toBe(d.t);
        }
        expect(group === 'wf_ngram').toBe(scope === '*');
      } else if (group === 'wf_transition') {
        const d = model.transitionCounts.counts.get(id)!;
        TRANSITION_VALUE_NAMES.forEach((n, i) => {
          expect(close(row.values[n]!, d.c[i]!), `${k}.${n}`).toBe(true);
        });
      } else if (group === 'wf_popularity') {
        const d = model.popularityCounts.counts.get(id)!;
        expect(close(row.values.count!, d.c[0]!), k).toBe(true);
      } else throw new Error(`unexpected group ${group}`);
      checked++;
    }
    // Every model entry has its row.
    const expected =
      model.sessions.size +
      model.global.counts.size +
      1 +
      [...model.tenants.values()].reduce((n, t) => n + t.counts.size + 1, 0) +
      model.transitionCounts.counts.size +
      model.popularityCounts.counts.size;
    expect(checked).toBe(expected);
  }, 120_000);

  it("POST /workflow/rank-features serves the model's vectors from the online store; cached = fresh; invalidated when the session moves; cold start; 400 naming the field", async () => {
    const model = new WorkflowModel(
      { ...DEFAULT_WORKFLOW_CONFIG, halfLifeMs: API_WORKFLOW_PARAMS.halfLife },
      new PathNormalizer(builtinSpec().endpoints.map((e) => e.path)),
    );
    const tenants = new Map<string, string>();
    for (const l of lines(input)) {
      const d = decodeLine(l);
      if (!d.ok) continue;
      const b = d.event.body as Record<string, string>;
      tenants.set(b.session_id!, b.tenant!);
      model.observe({
        session: b.session_id!,
        ts: d.event.ts,
        method: b.method!,
        path: b.path!,
        tenant: b.tenant ?? null,
      });
    }
    const store = await openOnlineStore(`embedded:${join(dir, 'clean-online')}`);
    let bump = 0;
    const reader = {
      readMany: async (keys: Parameters<typeof store.readMany>[0]) => {
        const out = await store.readMany(keys);
        return out.map((v, i) =>
          v !== null && keys[i]!.group === 'wf_session' && bump > 0
            ? { ...v, values: { ...v.values, state_version: (v.values.state_version ?? 0) + bump } }
            : v,
        );
      },
    };
    const app = Fastify();
    const metrics = new ServeMetrics();
    let ranker: ReturnType<typeof registerWorkflowRoute> = null;
    await app.register(async (scope) => {
      ranker = registerWorkflowRoute(scope, {
        store: reader,
        metrics,
        embedder: null,
        spec: builtinSpec(),
        halfLifeMs: API_WORKFLOW_PARAMS.halfLife,
        popularityHalfLifeMs: API_WORKFLOW_PARAMS.popularityHalfLife,
      });
    });
    try {
      const candidates = builtinSpec()
        .endpoints.slice(0, 20)
        .map((e) => ({ method: e.method, path: e.path }))
        .reverse();
      const sessions = [...model.sessions.keys()].filter((_, i) => i % 37 === 0).slice(0, 12);
      let compared = 0;
      for (const sid of sessions) {
        const tenant = tenants.get(sid)!;
        const res = await app.inject({
          method: 'POST',
          url: '/workflow/rank-features',
          payload: { session_id: sid, tenant, candidates },
        });
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json();
        expect(body.candidates.map((c: { path: string }) => c.path)).toEqual(candidates.map((c) => c.path));
        expect(body.cache).toEqual({ hits: 0, misses: 20 });
        const want = model.rank(sid, candidates, { tenant });
        expect(body.pattern.name).toBe(want.pattern.name);
        body.candidates.forEach(
          (c: { features: Record<string, number | null>; score: number }, i: number) => {
            for (const [name, v] of Object.entries(want.vectors[i]!)) {
              const got = c.features[name];
              if (v === null) expect(got, name).toBeNull();
              else
                expect(
                  Math.abs(got! - v) / Math.max(Math.abs(v), 1e-12),
                  `${sid} ${name}: ${got} vs ${v}`,
                ).toBeLessThan(0.01);
              compared++;
            }
            expect(c.score).toBeGreaterThan(0);
          },
        );
        // Again: every vector from the cache, equal to the fresh ones.
        const again = await app.inject({
          method: 'POST',
          url: '/workflow/rank-features',
          payload: { session_id: sid, tenant, candidates },
        });
        expect(again.json().cache).toEqual({ hits: 20, misses: 0 });
        expect(again.json().candidates).toEqual(body.candidates);
      }
      expect(compared).toBe(12 * 20 * 11);
      // The session moves (a new state version): its cached vectors are dropped.
      bump = 1;
      const moved = await app.inject({
        method: 'POST',
        url: '/workflow/rank-features',
        payload: { session_id: sessions[0], tenant: tenants.get(sessions[0]!), candidates },
      });
      expect(moved.json().cache).toEqual({ hits: 0, misses: 20 });
      expect(ranker!.stats.invalidations).toBe(1);
      // Cold start: not an error.
      const cold = await app.inject({
        method: 'POST',
        url: '/workflow/rank-features',
        payload: { session_id: 'nobody', candidates: candidates.slice(0, 2) },
      });
      expect(cold.statusCode).toBe(200);
      expect(cold.json().pattern).toEqual({ name: 'none', confidence: 0 });
      expect(cold.json().candidates[0].features.cold_start).toBe(1);
      // Bad requests name the field.
      const badPath = await app.inject({
        method: 'POST',
        url: '/workflow/rank-features',
        payload: { session_id: 's', candidates: [{ method: 'GET', path: 'v1/x' }] },
      });
      expect(badPath.statusCode).toBe(400);
      expect(badPath.body).toContain('candidates[0].path');
      const noSession = await app.inject({
        method: 'POST',
        url: '/workflow/rank-features',
        payload: { candidates },
      });
      expect(noSession.statusCode).toBe(400);
      expect(noSession.body).toContain('session_id');
      const m = await metrics.registry.getSingleMetricAsString('workflow_vector_cache_total');
      expect(m).toContain('result="hit"} 240');
    } finally {
      await app.close();
      await store.close();
    }
  }, 60_000);

  it('SIGKILLed ≥ 3 times and restarted: the same online store and rows as the uninterrupted run', async () => {
    const cleanRows = join(dir, 'clean-rows.ndjson');
    const t0 = performance.now();
    let kills = 0;
    let final = null as Awaited<ReturnType<typeof runCli>> | null;
    const stateDir = join(dir, 'crash-state');
    for (let attempt = 0; attempt < 30 && final === null; attempt++) {
      // Each of the first three attempts is killed as soon as it has committed a checkpoint of
      // its own: the job surely advanced, and the kill cannot come too late (wall-clock delays
      // did under load, when a resumed attempt finished before the third kill).
      const before = committedCheckpoint(stateDir);
      // A checkpoint after every 50-line batch: ~40 per run, so no attempt can finish before it
      // commits one (with 200 ms between checkpoints, a resumed attempt sometimes did).
      const child = startCli([
        ...args('crash', attempt % 2 === 0 ? '2' : '1'),
        '--batch-lines',
        '50',
        '--checkpoint-interval',
        '0',
      ]);
      const exited = () => child.exitCode !== null || child.signalCode !== null;
      const done = await Promise.race([
        child.result,
        kills < 3
          ? waitFor(
              'a checkpoint of this attempt',
              () => (exited() || committedCheckpoint(stateDir) > before ? true : undefined),
              120_000,
              5,
            ).then(() => null)
          : sleep(120_000).then(() => null),
      ]);
      if (done !== null) {
        expect(done.code, done.stderr).toBe(0);
        final = done;
        break;
      }
      child.kill('SIGKILL');
      expect((await child.result).signal).toBe('SIGKILL');
      kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    console.log(`${kills} kills, ${((performance.now() - t0) / 1000).toFixed(1)} s to complete`);
    const a = lines(cleanRows).sort();
    const b = lines(join(dir, 'crash-rows.ndjson')).sort();
    expect(b.length).toBe(a.length);
    expect(b).toEqual(a);

    const keys = [...latest(a.map((l) => JSON.parse(l) as JsonRow)).values()].map((r) => ({
      entityType: r.entity_type,
      entityId: r.entity_id,
      group: r.group,
      version: 1,
    }));
    const read = async (tag: string) => {
      const store = await openOnlineStore(`embedded:${join(dir, `${tag}-online`)}`);
      try {
        return (await store.readMany(keys)).map((v) =>
          v === null ? null : { values: v.values, eventTime: v.eventTime, revision: v.revision },
        );
      } finally {
        await store.close();
      }
    };
    const clean = await read('clean');
    expect(clean.every((v) => v !== null)).toBe(true);
    expect(await read('crash')).toEqual(clean);
  }, 300_000);

  it("over GitHub's real spec: generate --kind api --spec, run with the spec in a topology file, training-set --kind workflow", async () => {
    const gh = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');
    const ghInput = join(dir, 'gh.ndjson');
    const g = await runCli([
      'generate',
      '--kind',
      'api',
      '--spec',
      gh,
      '--events',
      '1500',
      '--seed',
      '4',
      '--out',
      ghInput,
    ]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toMatch(/1\d{3} operations, 24 scenario families/);
    // The shipped topology as a file, pointed at GitHub's document.
    const shown = await runCli(['topology', 'show', '--topology', 'api-workflow', '--format', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('"spec": "builtin"');
    const file = join(dir, 'api-workflow-github.json');
    writeFileSync(file, shown.stdout.replace('"spec": "builtin"', `"spec": ${JSON.stringify(gh)}`));
    const r = await runCli([
      'run',
      '--topology',
      file,
      '--input',
      ghInput,
      '--out',
      join(dir, 'gh-rows.ndjson'),
      '--state-dir',
      join(dir, 'gh-state'),
      '--workers',
      '2',
      '--summary-json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const spec = loadOpenApi(gh);
    const model = new WorkflowModel(
      { ...DEFAULT_WORKFLOW_CONFIG, halfLifeMs: API_WORKFLOW_PARAMS.halfLife },
      new PathNormalizer(spec.endpoints.map((e) => e.path)),
    );
    for (const l of lines(ghInput)) {
      const d = decodeLine(l);
      if (!d.ok) continue;
      const b = d.event.body as Record<string, string>;
      model.observe({
        session: b.session_id!,
        ts: d.event.ts,
        method: b.method!,
        path: b.path!,
        tenant: b.tenant ?? null,
      });
    }
    const sessions = [
      ...latest(lines(join(dir, 'gh-rows.ndjson')).map((l) => JSON.parse(l) as JsonRow)).values(),
    ].filter((row) => row.group === 'wf_session');
    expect(sessions.length).toBe(model.sessions.size);
    // Sessions hold endpoint ids of GitHub's templates (a builtin-spec run would not match).
    for (const row of sessions) expect(sessionFromRow(row.values)).toEqual(model.sessions.get(row.entity_id));

    const out = join(dir, 'gh-train');
    const t = await runCli([
      'training-set',
      '--kind',
      'workflow',
      '--input',
      ghInput,
      '--spec',
      gh,
      '--out',
      out,
      '--negatives',
      '5',
    ]);
    expect(t.code, t.stderr).toBe(0);
    const groups = readFileSync(join(out, 'train.tsv.query'), 'utf8').trim().split('\n');
    expect(groups.every((x) => x === '6')).toBe(true);
    const labels = readFileSync(join(out, 'train.tsv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]);
    expect(labels).toHaveLength(groups.length * 6);
    expect(labels.filter((x) => x === '1')).toHaveLength(groups.length);
    expect(t.stderr).toMatch(new RegExp(`training set: ${groups.length} queries, ${groups.length * 6} rows`));

    const missing = await runCli(['training-set', '--kind', 'workflow', '--out', out]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('--input is required with --kind workflow');
  }, 120_000);
});
