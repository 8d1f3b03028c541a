/** The command-line contract: exit codes, messages naming the flag, help, topology show, the embedded default. */
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { llmFeatureSet } from '../src/domains/llm/feature-set.js';
import { EmbeddedSqlClient } from '../src/stores/sql-client.js';
import { describe, expect, it } from 'vitest';
import { lines, runCli, tempDir } from './support.js';

const GROUPS = llmFeatureSet().groups;

const GROUP_NAMES = GROUPS.map((g) => g.group);

describe('featurestream CLI', () => {
  it('exits 2 naming the flag for a bad --workers', async () => {
    const r = await runCli(['run', '--input', 'x.ndjson', '--out', 'y', '--workers', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--workers must be a positive integer, got "many"/);
  });

  it('exits 2 for an unknown topology, naming --topology', async () => {
    const dir = tempDir();
    const r = await runCli(['topology', 'show', '--topology', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--topology: unknown topology "nope"/);
    const r2 = await runCli([
      'run',
      '--topology',
      'nope',
      '--input',
      join(dir, 'x'),
      '--out',
      join(dir, 'y'),
    ]);
    expect(r2.code).toBe(2);
  });

  it('exits 2 for a missing input file and for an unknown option', async () => {
    const r = await runCli(['run', '--input', '/nonexistent/events.ndjson', '--out', '/tmp/x.ndjson']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--input: no such file/);
    const r2 = await runCli(['run', '--frobnicate']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/unknown option '--frobnicate'/);
  });

  it('a usage error prints the error, the suggestion and one hint line, not the whole help', async () => {
    const r = await runCli(['run', '--worker', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      "error: unknown option '--worker'",
      '(Did you mean --workers?)',
      '(featurestream run --help lists the options)',
    ]);
  });

  it('serve with no store at the default location exits 2 naming the directory', async () => {
    const cwd = tempDir('fs-serve-none-');
    const r = await runCli(['serve', '--port', '0'], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^featurestream: --online: no online store in \S+\/\.featurestream\/default\/online: run `featurestream run` first/,
    );
    // An embedded offline directory without the feature tables is named too (not served as nulls).
    const r2 = await runCli(
      ['serve', '--port', '0', '--online', 'none', '--offline', `embedded:${join(cwd, 'off')}`],
      cwd,
    );
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(
      /^featurestream: --offline: no offline store in \S+\/off: run `featurestream run` first/,
    );
    mkdirSync(join(cwd, 'off'));
    const r3 = await runCli(
      ['serve', '--port', '0', '--online', 'none', '--offline', `embedded:${join(cwd, 'off')}`],
      cwd,
    );
    expect(r3.code, r3.stderr).toBe(2);
    expect(r3.stderr).toMatch(
      /^featurestream: --offline: no offline store in \S+\/off: run `featurestream run` first/,
    );
  }, 120_000);

  it('explains itself in --help', async () => {
    const r = await runCli(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--state-dir/);
    expect(r.stdout).toMatch(/resumes from the last checkpoint/);
  });

  it('shows the topology as json, dot and mermaid', async () => {
    const json = await runCli(['topology', 'show', '--format', 'json']);
    expect(JSON.parse(json.stdout).name).toBe('llm-features');
    const dot = await runCli(['topology', 'show', '--format', 'dot']);
    expect(dot.stdout).toMatch(/^digraph/);
    expect(dot.stdout).toMatch(/perf_1hr/);
    const mermaid = await runCli(['topology', 'show', '--topology', 'llm-features', '--format', 'mermaid']);
    expect(mermaid.stdout).toMatch(/^flowchart LR/);
  });

  it('runs the embedded default with no arguments and prints what it computed', async () => {
    const cwd = tempDir('fs-default-');
    const r = await runCli(['run'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/events read\s+20,000/);
    expect(r.stdout).toMatch(/rows written/);
    // Every group of the catalog has rows, and a sample of each is printed.
    for (const g of GROUP_NAMES) expect(r.stdout).toMatch(new RegExp(`\\n  ${g}\\s+\\S+`));
    const rows = join(cwd, '.featurestream/default/features.ndjson');
    expect(existsSync(rows)).toBe(true);
    const groups = new Set(lines(rows).map((l) => (JSON.parse(l) as { group: string }).group));
    expect([...groups].sort()).toEqual([...GROUP_NAMES].sort());
    // The embedded stores were written.
    expect(existsSync(join(cwd, '.featurestream/default/online'))).toBe(true);
    expect(existsSync(join(cwd, '.featurestream/default/offline'))).toBe(true);

    // A second run starts its stores fresh too, in the same offline directory (no new initdb):
    // what the first run or anyone else left in the schema is gone, the same rows are there again.
    const offlineDir = join(cwd, '.featurestream/default/offline');
    const counts = async (leftover: 'make' | 'check' | 'none') => {
      const db = await EmbeddedSqlClient.open(offlineDir);
      try {
        const n = async (table: string) =>
          (await db.query<{ n: number }>('count', `SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
        const out = {
          features: await n('feature_values'),
          deadLetters: await n('dead_letters'),
          late: await n('late_events'),
        };
        if (leftover === 'make') await db.query('leftover', 'CREATE TABLE leftover AS SELECT 1 AS x');
        if (leftover === 'check') {
          const t = await db.query<{ n: number }>(
            'leftover',
            "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'leftover'",
          );
          expect(t.rows[0]!.n, 'the schema was emptied').toBe(0);
        }
        return out;
      } finally {
        await db.close();
      }
    };
    const first = await counts('make');
    expect(first.features).toBeGreaterThan(1000);
    expect(first.deadLetters).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/embedded default: generated a sample stream/);
    const r2 = await runCli(['run'], cwd);
    expect(r2.code, r2.stderr).toBe(0);
    // The sample this generator wrote, unchanged since, is reused (the generator is deterministic).
    expect(r2.stdout).toMatch(/embedded default: the sample stream in .* reused/);
    expect(r2.stdout).toMatch(/events read\s+20,000/);
    expect(await counts('check')).toEqual(first);
    // A directory PGlite cannot open is made anew rather than failing the run; a sample file
    // touched since it was written is generated again.
    writeFileSync(join(offlineDir, 'PG_VERSION'), 'not a version\n');
    const sample = join(cwd, '.featurestream/default/events.ndjson');
    utimesSync(sample, new Date(), new Date(Date.now() + 60_000));
    const r3 = await runCli(['run'], cwd);
    expect(r3.code, r3.stderr).toBe(0);
    expect(r3.stdout).toMatch(/embedded default: generated a sample stream/);
    expect(await counts('none')).toEqual(first);
  }, 600_000);
});
