/**
 * The container image (issue 28): built by `npm run image`'s script from scratch (no base pulled),
 * it answers `--help` and `--version`, carries the OCI labels and runs as user 10001; the embedded
 * default `run` works on a read-only root filesystem with a tmpfs for its data and equals the same
 * run outside the container; a run writes to Redis and PostgreSQL on the host network and `serve`
 * answers /healthz, /readyz and a feature read from them; SIGTERM stops `serve` with exit 0 and a
 * file run with the documented 143, both within the grace period (podman stop's timeout).
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/shared/free-port.js';
import { PrivateRedis } from '../../src/stores/private-redis.js';
import { dropSchema, PG_URL, uniqueName as schemaName } from '../stores-support.js';
import { runCli, summaryOf, tempDir, newestRowOfFirstEntity } from '../support.js';
import {
  buildTestImage,
  packageVersion,
  podman,
  podmanAsync,
  removeContainers,
  skipContainers,
  type TestImage,
  uniqueName,
  until,
} from './support.js';

const skip = skipContainers('container image tests');
const DATA = '/var/lib/featurestream';

describe.skipIf(skip)('the container image', () => {
  let img: TestImage;
  const containers: string[] = [];
  let dir: string;
  const name = (prefix: string) => {
    const n = uniqueName(prefix);
    containers.push(n);
    return n;
  };

  beforeAll(() => {
    dir = tempDir('fs-container-');
    chmodSync(dir, 0o777);
    img = buildTestImage('fs-image');
  }, 600_000);

  afterAll(() => {
    removeContainers(containers);
    img?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers --help and --version, runs as 10001 with the OCI labels, built FROM the scratch base', () => {
    const help = podman(['run', '--rm', '--network', 'none', '--name', name('fs-help'), img.image, '--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: featurestream');
    const version = podman([
      'run',
      '--rm',
      '--network',
      'none',
      '--name',
      name('fs-version'),
      img.image,
      '--version',
    ]);
    expect(version.stdout.trim()).toBe(packageVersion());
    const inspect = podman(['image', 'inspect', img.image]);
    const config = (JSON.parse(inspect.stdout) as Array<{ Config: Record<string, unknown> }>)[0]!.Config;
    expect(config.User).toBe('10001:10001');
    expect(config.Entrypoint).toEqual(['/usr/local/bin/node', '/opt/featurestream/bin/featurestream.js']);
    const labels = config.Labels as Record<string, string>;
    expect(labels['org.opencontainers.image.version']).toBe(packageVersion());
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
    expect(labels['org.opencontainers.image.source']).toMatch(/^https:\/\//);
    // The base holds Node 24 and its libraries only: no shell, no package manager.
    expect(img.built.base).toBe(img.base);
    const node = podman([
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      '/usr/local/bin/node',
      img.base,
      '-p',
      'process.version',
    ]);
    expect(node.stdout.trim()).toMatch(/^v24\./);
    const sh = podman([
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      '/bin/sh',
      img.base,
      '-c',
      'true',
    ]);
    expect(sh.code).not.toBe(0);
  });

  it('runs the embedded default on a read-only root with a tmpfs for its data, as outside', async () => {
    const r = await podmanAsync(
      ['run', '--rm', '--read-only', '--network', 'none', '--name', name('fs-run')].concat([
        '--tmpfs',
        `${DATA}:rw,U,size=1g`,
        img.image,
        'run',
        '--summary-json',
      ]),
      300_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const inside = summaryOf({ code: r.code, signal: null, stdout: r.stdout, stderr: r.stderr });
    const cwd = join(dir, 'host-run');
    mkdirSync(cwd);
    const host = await runCli(['run', '--summary-json'], cwd);
    expect(host.code, host.stderr).toBe(0);
    const outside = summaryOf(host);
    expect(inside.eventsRead).toBe(20_000);
    expect(Object.keys(inside.rowsByGroup as object)).toHaveLength(9);
    for (const k of ['eventsRead', 'deadLetters', 'lateEvents', 'rowsWritten', 'rowsByGroup'] as const) {
      expect(inside[k], k).toEqual(outside[k]);
    }
  }, 300_000);

  it('writes to Redis and PostgreSQL on the host network and serves a feature; SIGTERM → 0', async () => {
    const redis = await PrivateRedis.start();
    const schema = schemaName('fs_container');
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    const offline = `${PG_URL}?schema=${schema}`;
    try {
      const events = join(dir, 'events.ndjson');
      const gen = await runCli(['generate', '--events', '3000', '--out', events]);
      expect(gen.code, gen.stderr).toBe(0);
      chmodSync(events, 0o644);
      const run = await podmanAsync(
        ['run', '--rm', '--read-only', '--network', 'host', '--name', name('fs-run-stores')]
          .concat(['--tmpfs', `${DATA}:rw,U`, '-v', `${dir}:/mnt/events:rw`, img.image])
          .concat(['run', '--input', '/mnt/events/events.ndjson', '--out', '/mnt/events/rows.ndjson'])
          .concat(['--state-dir', `${DATA}/state`, '--online', redis.url, '--offline', offline]),
        300_000,
      );
      expect(run.code, run.stderr).toBe(0);
      // The newest perf_5min row of one model is what the online store holds for it.
      const newest = newestRowOfFirstEntity(join(dir, 'rows.ndjson'), 'perf_5min');
      const model = newest.entity_id;

      const port = await freePort();
      const serving = name('fs-serve');
      const started = podman(
        ['run', '-d', '--read-only', '--network', 'host', '--name', serving, img.image].concat([
          'serve',
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--online',
          redis.url,
          '--offline',
          offline,
        ]),
      );
      expect(started.code, started.stderr).toBe(0);
      const base = `http://127.0.0.1:${port}`;
      await until('serve /healthz', 60_000, async () =>
        (await fetch(`${base}/healthz`)).ok ? true : undefined,
      );
      await until('serve /readyz', 60_000, async () =>
        (await fetch(`${base}/readyz`)).ok ? true : undefined,
      );
      const read = (await (
        await fetch(`${base}/features/model/${model}?features=latency_p95_5min`)
      ).json()) as {
        features: Record<string, number>;
      };
      expect(read.features.latency_p95_5min).toBe(newest.values.latency_p95_5min);
      // SIGTERM, then SIGKILL after the grace period: a clean stop exits 0 well before that.
      const stop = await podmanAsync(['stop', '-t', '30', serving], 60_000);
      expect(stop.code, stop.stderr).toBe(0);
      const exit = podman(['inspect', '--format', '{{.State.ExitCode}}', serving]);
      expect(exit.stdout.trim()).toBe('0');
      const logs = podman(['logs', serving]);
      expect(logs.stdout).toContain('listening on');
    } finally {
      await redis.stop();
      await dropSchema(pool, schema);
      await pool.end();
    }
  }, 300_000);

  it('stops a file run on SIGTERM within the grace period with the documented 143', async () => {
    const running = name('fs-sigterm');
    const started = podman(
      ['run', '-d', '--read-only', '--network', 'none', '--name', running].concat([
        '--tmpfs',
        `${DATA}:rw,U`,
        img.image,
        'run',
        '--state-dir',
        `${DATA}/state`,
      ]),
    );
    expect(started.code, started.stderr).toBe(0);
    // Started once the sample is generated (about 3 s of a ~10 s run).
    await until('the run to generate its sample', 120_000, async () =>
      podman(['logs', running]).stdout.includes('generated a sample stream') ? true : undefined,
    );
    const stop = await podmanAsync(['stop', '-t', '60', running], 120_000);
    expect(stop.code, stop.stderr).toBe(0);
    // 143: interrupted by SIGTERM, state at the last checkpoint — not 137, the SIGKILL podman
    // sends when the grace period ends.
    expect(podman(['inspect', '--format', '{{.State.ExitCode}}', running]).stdout.trim()).toBe('143');
    expect(podman(['logs', running]).stderr).toContain('interrupted by SIGTERM');
  }, 300_000);
});
