/**
 * The installed package works (issue 28): `npm pack` of the build, installed into an empty
 * directory with production dependencies only, holds every runtime asset — the tarball has
 * bin/ and dist/ and no sources, so a file that scripts/copy-assets.mjs missed fails here — and
 * runs `featurestream run` (the embedded default), `serve` (a feature read from the stores the run
 * left, then SIGTERM → 0) and `workflow eval` from there.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, summaryOf, tempDir, newestRowOfFirstEntity } from './support.js';

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the installed package', () => {
  let dir: string;
  let bin: string;
  const children: ChildProcess[] = [];

  /** Starts the installed CLI with `args` in the install directory. */
  const start = (args: readonly string[]) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const result = new Promise<Out>((resolve) =>
      child.on('close', (code) => resolve({ code, stdout, stderr })),
    );
    return { child, result, stdout: () => stdout };
  };

  beforeAll(() => {
    dir = tempDir('fs-install-');
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1)!;
    writeFileSync(join(dir, 'package.json'), '{ "name": "fs-install-test", "private": true }\n');
    execFileSync(
      'npm',
      [
        'install',
        '--omit=dev',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `./${tgz}`,
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 },
    );
    bin = join(dir, 'node_modules/featurestream/bin/featurestream.js');
  }, 320_000);

  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('holds bin/ and dist/ with their assets, no sources and no dev dependencies', () => {
    const pkg = join(dir, 'node_modules/featurestream');
    expect(existsSync(join(pkg, 'dist/bundle/cli.js'))).toBe(true);
    expect(existsSync(join(pkg, 'src'))).toBe(false);
    expect(existsSync(join(pkg, 'topology'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/@duckdb/node-api'))).toBe(false);
    const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version as string;
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(version);
  });

  it('runs the embedded default, serves a feature from its stores and runs workflow eval', async () => {
    const run = await start(['run', '--summary-json']).result;
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf({ ...run, signal: null });
    expect(summary.eventsRead).toBe(20_000);
    expect(Object.keys(summary.rowsByGroup as object)).toHaveLength(9);

    const base = join(dir, '.featurestream/default');
    const newest = newestRowOfFirstEntity(join(base, 'features.ndjson'), 'perf_5min');
    const model = newest.entity_id;
    const serve = start([
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--online',
      `embedded:${join(base, 'online')}`,
      '--offline',
      `embedded:${join(base, 'offline')}`,
    ]);
    const address = await new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = /listening on (http:\/\/\S+)/.exec(serve.stdout());
        if (m) resolve(m[1]!);
      };
      serve.child.stdout!.on('data', check);
      serve.result.then((r) => reject(new Error(`serve exited with ${r.code}: ${r.stderr}`)));
    });
    const read = (await (
      await fetch(`${address}/features/model/${model}?features=latency_p95_5min`)
    ).json()) as {
      features: Record<string, number>;
    };
    expect(read.features.latency_p95_5min).toBe(newest.values.latency_p95_5min);
    serve.child.kill('SIGTERM');
    expect((await serve.result).code).toBe(0);

    const wf = await start(['workflow', 'eval', '--events', '3000', '--json']).result;
    expect(wf.code, wf.stderr).toBe(0);
    expect(JSON.parse(wf.stdout)).toBeTypeOf('object');
  }, 300_000);
});
