/**
 * The `api-workflow` topology end to end (from the build): its stored rows equal the in-memory
 * model's state fed the same decoded events, bad records are dead letters with reasons, and a
 * run SIGKILLed several times and restarted leaves the same online store (embedded) and rows as
 * an uninterrupted run.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeLine } from '../src/events/decode.js';
import { writeApiEvents } from '../src/generate/api-stream.js';
import { openOnlineStore } from '../src/stores/online-store.js';
import { DEFAULT_WORKFLOW_CONFIG, WorkflowModel } from '../src/workflow/model.js';
import { builtinSpec } from '../src/workflow/openapi.js';
import { PathNormalizer } from '../src/workflow/paths.js';
import { sessionFromRow } from '../src/workflow/session.js';
import { TRANSITION_VALUE_NAMES } from '../src/workflow/stats.js';
import { API_WORKFLOW_PARAMS } from '../topology/api-workflow.js';
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

  it('SIGKILLed ≥ 3 times and restarted: the same online store and rows as the uninterrupted run', async () => {
    const cleanRows = join(dir, 'clean-rows.ndjson');
    const t0 = performance.now();
    let kills = 0;
    let final = null as Awaited<ReturnType<typeof runCli>> | null;
    for (let attempt = 0; attempt < 30 && final === null; attempt++) {
      const child = startCli(args('crash', attempt % 2 === 0 ? '2' : '1'));
      const done = await Promise.race([
        child.result,
        sleep(kills < 3 ? 1_200 + attempt * 300 : 120_000).then(() => null),
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
});
