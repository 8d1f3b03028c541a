/**
 * The upstream-format scenario (`upstream-scenario.ts`: every event type in the collector's
 * shapes, sessions that touch, split and hit the 4 h cut, late feedback within its bound, five
 * bad records) produced to an 8-partition topic of the test broker and read by two members with
 * `run --kafka … --stop-at-end` gives exactly the single-process file run's rows, dead letters
 * (with raw) and feedback_session rows — and REQ_014 (session_depth) equals the hand-computed
 * depths. Before the Kafka path sorted keyed processors' input by event time, every request
 * under Kafka had session_depth 1.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionDepth } from '../../src/domains/llm/features/request.js';
import { tempDir } from '../support.js';
import {
  fileRun,
  folderLines,
  kafkaArgs,
  multisetDifferences,
  runnerSummary,
  brokerWithEventsForFile,
  startRunner,
  within,
} from './broker.js';
import { SCENARIO_SESSIONS, upstreamScenarioLines } from './upstream-scenario.js';

interface Row {
  group: string;
  entity_id: string;
  values: Record<string, number | null>;
}

const lines = upstreamScenarioLines();
const dir = tempDir('fs-kafka-upstream-');
const broker = brokerWithEventsForFile(3, 'upstream', 8, lines);
let reference: Awaited<ReturnType<typeof fileRun>>;

beforeAll(async () => {
  reference = await fileRun(dir, lines);
}, 180_000);

const parse = (ls: readonly string[]) => ls.map((l) => JSON.parse(l) as Row);
const depths = (rows: readonly Row[]) =>
  new Map(rows.filter((r) => r.group === 'request').map((r) => [r.entity_id, r.values.session_depth]));

describe('the upstream scenario through Kafka', () => {
  it('the file run holds every group the scenario feeds, five dead letters and the hand-computed session depths', () => {
    const rows = parse(reference.rows);
    const groups = new Set(rows.map((r) => r.group));
    for (const g of ['request', 'model_static', 'derived', 'perf_5min', 'feedback_session', 'context'])
      expect(groups.has(g), g).toBe(true);
    expect(reference.deadLetters).toHaveLength(5);
    const d = depths(rows);
    for (const s of SCENARIO_SESSIONS)
      expect(
        s.minutes.map((_, j) => d.get(`req-${s.id}-${j}`)),
        s.id,
      ).toEqual(s.depths.map(sessionDepth));
  });

  it('two members with --stop-at-end give the file run’s rows, dead letters and session depths exactly', async () => {
    const runDir = join(dir, 'kafka');
    const args = (tag: string) =>
      kafkaArgs({
        broker,
        topic: 'upstream',
        group: 'upstream-1',
        dir: runDir,
        tag,
        extra: ['--workers', '2', '--embedding-cache', join(dir, 'embeddings')],
      });
    const a = startRunner(args('a'));
    const b = startRunner(args('b'));
    const runners = { a, b };
    for (const r of [a, b]) {
      const res = await within(r.result, 150_000, 'both members to finish', runners, runDir);
      expect(res.code, res.stderr.slice(-3000)).toBe(0);
      expect(runnerSummary(res.stdout).stoppedBy).toBe('end');
    }
    const rows = folderLines(join(runDir, 'rows'));
    expect(multisetDifferences(rows, reference.rows)).toEqual([]);
    const dl = folderLines(join(runDir, 'dl')).map((l) => {
      const o = JSON.parse(l) as { reason: string; raw: string };
      return `${o.reason}\t${o.raw}`;
    });
    expect(dl.sort()).toEqual(reference.deadLetters.map((d) => `${d.reason}\t${d.raw}`).sort());
    const kafkaRows = parse(rows);
    expect(kafkaRows.filter((r) => r.group === 'feedback_session').length).toBe(
      parse(reference.rows).filter((r) => r.group === 'feedback_session').length,
    );
    const d = depths(kafkaRows);
    for (const s of SCENARIO_SESSIONS)
      expect(
        s.minutes.map((_, j) => d.get(`req-${s.id}-${j}`)),
        s.id,
      ).toEqual(s.depths.map(sessionDepth));
  }, 300_000);
});
