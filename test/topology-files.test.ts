/**
 * A topology is a file: `topology show --format json|yaml` writes a file that `run --topology
 * FILE` reads back with identical output, an edited window takes effect with nothing else
 * changed, and `run` writes to stores without an --out file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadTopology } from '../topology/index.js';
import { API_WORKFLOW_FILE as API_WORKFLOW_URL } from '../src/domains/api-workflow/plugin.js';
import { apiWorkflowTopology } from '../src/domains/api-workflow/topology.js';

const API_WORKFLOW_FILE = fileURLToPath(API_WORKFLOW_URL);
import { lines, runCli, summaryOf, tempDir } from './support.js';

const dir = tempDir('fs-topofile-');
const input = join(dir, 'events.ndjson');
const cache = join(dir, 'embeddings');

/** Runs the CLI and fails with its stderr when it does not exit 0. */
async function ok(args: readonly string[]): Promise<string> {
  const r = await runCli(args);
  if (r.code !== 0) throw new Error(`featurestream ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The lines of an NDJSON text, sorted: shards finish in any order, so runs are compared as sets of rows. */
const sorted = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .sort();

/** Runs `topology` over the shared input; returns the rows and dead letters, sorted. */
async function run(topology: string, tag: string): Promise<{ rows: string[]; dl: string[] }> {
  const out = join(dir, `${tag}.rows.ndjson`);
  const dl = join(dir, `${tag}.dl.ndjson`);
  await ok([
    'run',
    '--topology',
    topology,
    '--input',
    input,
    '--out',
    out,
    '--dead-letters',
    dl,
    '--embedding-cache',
    cache,
    '--workers',
    '2',
    '--summary-json',
  ]);
  return { rows: sorted(readFileSync(out, 'utf8')), dl: sorted(readFileSync(dl, 'utf8')) };
}

async function showAs(topology: string, format: 'json' | 'yaml'): Promise<string> {
  const file = join(dir, `${topology}.${format}`);
  writeFileSync(file, await ok(['topology', 'show', '--topology', topology, '--format', format]));
  return file;
}

beforeAll(async () => {
  await ok(['generate', '--events', '1500', '--seed', '9', '--out', input]);
}, 60_000);

describe('run --topology FILE', () => {
  // topology/file.test.ts shows both shipped topologies read back equal from both formats; here
  // the CLI runs them (llm-features, the slow one, from YAML only).
  const cases = [
    ['llm-perf', ['json', 'yaml']],
    ['llm-features', ['yaml']],
  ] as const;
  for (const [name, formats] of cases) {
    it(`gives ${name}'s rows and dead letters, read back from its ${formats.join(' and ')} file`, async () => {
      const builtIn = await run(name, name);
      expect(lines(join(dir, `${name}.rows.ndjson`)).length).toBeGreaterThan(50);
      for (const format of formats) {
        const fromFile = await run(await showAs(name, format), `${name}-${format}`);
        expect(fromFile.rows).toEqual(builtIn.rows);
        expect(fromFile.dl).toEqual(builtIn.dl);
      }
    }, 180_000);
  }

  it('takes an edited window size and lateness from the file, with nothing else changed', async () => {
    const builtIn = await run('llm-perf', 'perf-base');
    const file = join(dir, 'perf-10min.yaml');
    const yaml = readFileSync(await showAs('llm-perf', 'yaml'), 'utf8');
    // perf_5min's window is the first `size: 300000` of the file.
    const edited = yaml.replace('size: 300000\n    lateness: 60000', 'size: 600000\n    lateness: 30000');
    expect(edited).not.toBe(yaml);
    writeFileSync(file, edited);
    const after = await run(file, 'perf-10min');
    type Row = { group: string; window_start: string; window_end: string };
    const parse = (rows: string[]) => rows.map((l) => JSON.parse(l) as Row);
    const span = (r: Row) => Date.parse(r.window_end) - Date.parse(r.window_start);
    const before = parse(builtIn.rows);
    const now = parse(after.rows);
    const of = (rows: Row[], g: string) => rows.filter((r) => r.group === g);
    expect(new Set(of(before, 'perf_5min').map(span))).toEqual(new Set([300_000]));
    expect(new Set(of(now, 'perf_5min').map(span))).toEqual(new Set([600_000]));
    expect(of(now, 'perf_5min').length).toBeLessThan(of(before, 'perf_5min').length);
    // The other window is untouched.
    expect(of(now, 'perf_1hr')).toEqual(of(before, 'perf_1hr'));
    // The registry reads the group from the file too.
    const list = JSON.parse(await ok(['features', 'list', '--json', '--topology', file])) as {
      id: string;
      window: string;
    }[];
    expect(list.find((f) => f.id === 'PERF_001')?.window).toBe('tumbling 10m, lateness 30s');
    expect(list.find((f) => f.id === 'PERF_004')?.window).toBe('sliding 1h every 5m, lateness 120s');
  }, 120_000);

  it('exits 2 naming the field of a bad topology file', async () => {
    const file = join(dir, 'bad.json');
    const doc = JSON.parse(readFileSync(await showAs('llm-perf', 'json'), 'utf8'));
    doc.nodes.find((n: { id: string }) => n.id === 'perf_1hr').window.slide = 0;
    writeFileSync(file, JSON.stringify(doc));
    const r = await runCli(['run', '--topology', file, '--input', input, '--out', join(dir, 'x.ndjson')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/field `nodes\.perf_1hr\.window\.slide`: sliding window `slide` must be > 0/);
    const missing = await runCli(['topology', 'show', '--topology', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--topology: no such file/);
  });
});

describe('api-workflow is a shipped topology file', () => {
  it('the file equals the code-built graph, `topology show --format yaml` prints it byte for byte, and the printed file gives the same rows', async () => {
    expect(loadTopology('api-workflow')).toEqual(apiWorkflowTopology());
    const shown = await showAs('api-workflow', 'yaml');
    expect(readFileSync(shown, 'utf8')).toBe(readFileSync(API_WORKFLOW_FILE, 'utf8'));
    const api = join(dir, 'api.ndjson');
    await ok(['generate', '--kind', 'api', '--events', '1500', '--seed', '3', '--out', api]);
    const runApi = async (topology: string, tag: string) => {
      const out = join(dir, `${tag}.rows.ndjson`);
      await ok(['run', '--topology', topology, '--input', api, '--out', out, '--workers', '2']);
      return sorted(readFileSync(out, 'utf8'));
    };
    const byName = await runApi('api-workflow', 'wf-name');
    expect(byName.length).toBeGreaterThan(50);
    expect(await runApi(shown, 'wf-file')).toEqual(byName);
  }, 180_000);
});

describe('run without --out', () => {
  it('writes to a store alone when --online (or --offline) is given', async () => {
    const r = await runCli([
      'run',
      '--topology',
      'llm-perf',
      '--input',
      input,
      '--online',
      `embedded:${join(dir, 'online')}`,
      '--summary-json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r).rowsWritten).toBe(lines(join(dir, 'llm-perf.rows.ndjson')).length);
    const none = await runCli(['run', '--input', input]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--out, --online or --offline is required/);
  }, 60_000);
});
