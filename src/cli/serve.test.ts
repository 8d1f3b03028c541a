import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { build } from 'esbuild';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/errors.js';
import {
  parseRollout,
  registerServeCommand,
  resolveServeConfig,
  type ServeFlags,
  startServe,
} from './serve.js';
import { createTestSchema } from '../serve/test-support.js';
import { featureSetOf } from '../registry/feature-set.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `fs_serve_cmd_${randomUUID().slice(0, 8)}`;

const flags = (over: Partial<ServeFlags> = {}): ServeFlags => ({
  port: 0,
  host: '127.0.0.1',
  online: 'redis://127.0.0.1:6379',
  offline: 'none',
  l1MaxBytes: 1 << 20,
  l1TtlMs: 1000,
  maxBatch: 100,
  keyPrefix: '',
  logLevel: 'warn',
  ...over,
});

let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await createTestSchema(admin, SCHEMA);
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await admin.end();
});

describe('resolveServeConfig', () => {
  it('takes the schema from ?schema= unless --offline-schema is given', () => {
    const c = resolveServeConfig(flags({ offline: `${PG_URL}?schema=feat&sslmode=disable` }));
    expect(c.offlineSchema).toBe('feat');
    expect(c.offlineUrl).toBe(`${PG_URL}?sslmode=disable`);
    expect(
      resolveServeConfig(flags({ offline: `${PG_URL}?schema=feat`, offlineSchema: 'other' })).offlineSchema,
    ).toBe('other');
    expect(resolveServeConfig(flags({ offline: PG_URL })).offlineSchema).toBe('public');
    const none = resolveServeConfig(flags({ online: 'none' }));
    expect(none.onlineUrl).toBeNull();
    expect(none.offlineUrl).toBeNull();
  });

  it('reads the token from the named environment variable', () => {
    expect(resolveServeConfig(flags({ authTokenEnv: 'TOK' }), { TOK: 'abc' }).authToken).toBe('abc');
    expect(() => resolveServeConfig(flags({ authTokenEnv: 'TOK' }), {})).toThrow(
      /--auth-token-env: environment variable TOK is not set/,
    );
    expect(() => resolveServeConfig(flags({ authTokenEnv: 'TOK' }), { TOK: '' })).toThrow(ConfigError);
  });

  it('rejects bad store URLs, naming the flag', () => {
    expect(() => resolveServeConfig(flags({ online: 'http://127.0.0.1:6379' }))).toThrow(
      /^--online: expected redis:/,
    );
    expect(() => resolveServeConfig(flags({ online: 'localhost' }))).toThrow(/^--online: not a URL/);
    expect(() => resolveServeConfig(flags({ offline: 'mysql://x/db' }))).toThrow(
      /^--offline: expected postgres:/,
    );
  });

  it('parses rollouts', () => {
    expect(parseRollout('perf_5min=1:0.9, 2:0.1')).toEqual([
      'perf_5min',
      [
        { version: 1, share: 0.9 },
        { version: 2, share: 0.1 },
      ],
    ]);
    expect(() => parseRollout('perf_5min')).toThrow(/--rollout: expected GROUP=VERSION:SHARE/);
    expect(() => parseRollout('perf_5min=1-0.5')).toThrow(ConfigError);
    expect(() => resolveServeConfig(flags({ rollout: ['perf_5min=1:1', 'perf_5min=2:1'] }))).toThrow(/twice/);
  });
});

describe('registerServeCommand', () => {
  it('documents every flag in --help', () => {
    const program = new Command().name('featurestream');
    const help = registerServeCommand(program).helpInformation();
    for (const flag of [
      '--port',
      '--host',
      '--online',
      '--offline',
      '--auth-token-env',
      '--l1-max-bytes',
      '--l1-ttl-ms',
      '--max-batch',
      '--rollout',
    ]) {
      expect(help).toContain(flag);
    }
  });

  it('rejects a bad number before starting anything', async () => {
    const program = new Command()
      .name('featurestream')
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    registerServeCommand(program)
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    await expect(program.parseAsync(['node', 'fs', 'serve', '--l1-max-bytes', '-5'])).rejects.toThrow(
      /--l1-max-bytes must be an integer ≥ 0, got "-5"/,
    );
  });
});

describe('startServe', () => {
  it('listens with both stores, reports ready and closes', async () => {
    const config = resolveServeConfig(
      flags({ offline: `${PG_URL}?schema=${SCHEMA}`, rollout: ['perf_5min=1:1'] }),
    );
    const running = await startServe({ ...config, featureSet: featureSetOf() }, pino({ level: 'silent' }));
    try {
      const ready = await fetch(`${running.address}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ready',
        checks: { online: 'ok', offline: 'ok', invalidation: 'ok' },
      });
      const groups = (await (await fetch(`${running.address}/registry/groups`)).json()) as {
        groups: Array<{ group: string; rollout: unknown }>;
      };
      expect(groups.groups.find((g) => g.group === 'perf_5min')!.rollout).toEqual([{ version: 1, share: 1 }]);
      const metrics = await (await fetch(`${running.address}/metrics`)).text();
      expect(metrics).toContain('process_cpu_user_seconds_total');
    } finally {
      await running.close();
      await running.close();
    }
    await expect(fetch(`${running.address}/healthz`)).rejects.toThrow();
  });

  it('fails with an InUseError (exit 3) when the port is taken', async () => {
    const first = await startServe(
      { ...resolveServeConfig(flags({ online: 'none' })), featureSet: featureSetOf() },
      pino({ level: 'silent' }),
    );
    try {
      const port = Number(new URL(first.address).port);
      await expect(
        startServe(
          { ...resolveServeConfig(flags({ online: 'none', port })), featureSet: featureSetOf() },
          pino({ level: 'silent' }),
        ),
      ).rejects.toThrow(
        new RegExp(
          `^--port ${port}: 127\\.0\\.0\\.1:${port} is in use by another process: stop it or choose another --port$`,
        ),
      );
    } finally {
      await first.close();
    }
  });
});

describe('featurestream serve (process)', () => {
  let child: ChildProcess | undefined;
  let cleanup = () => {};
  afterAll(() => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    cleanup();
  });

  it('prints its address, serves, and exits 0 on SIGTERM', async () => {
    // Bundle main.ts (dependencies stay external, resolved from the repo's node_modules) so the
    // process runs on plain node and receives the signal itself.
    const dir = join('node_modules', '.cache', `fs-serve-test-${randomUUID().slice(0, 8)}`);
    mkdirSync(dir, { recursive: true });
    const bundle = join(dir, 'main.mjs');
    await build({
      entryPoints: ['src/cli/serve-main.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: bundle,
      logLevel: 'silent',
      // Modules find their files (topology files, OpenAPI specs) through `import.meta.url`: keep
      // it each source module's own URL, as scripts/bundle.mjs does for the build's bundle.
      plugins: [
        {
          name: 'module-url',
          setup(b) {
            b.onLoad({ filter: /\.ts$/ }, async (args) => {
              const contents = await readFile(args.path, 'utf8');
              return {
                contents: contents.replaceAll(
                  'import.meta.url',
                  JSON.stringify(pathToFileURL(args.path).href),
                ),
                loader: 'ts',
              };
            });
          },
        },
      ],
    });
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    child = spawn(
      process.execPath,
      [
        bundle,
        'serve',
        '--port',
        '0',
        '--online',
        'redis://127.0.0.1:6379',
        // The default is now the embedded default's store (.featurestream/default/offline).
        '--offline',
        'none',
        '--auth-token-env',
        'FS_SERVE_TEST_TOKEN',
      ],
      { env: { ...process.env, FS_SERVE_TEST_TOKEN: 'tok' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m !== null) {
          clearInterval(timer);
          resolve(m[1]!);
        } else if (child!.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`serve exited: ${stderr}`));
        }
      }, 50);
    });
    expect((await fetch(`${address}/healthz`)).status).toBe(200);
    expect((await fetch(`${address}/registry/groups`)).status).toBe(401);
    expect(
      (await fetch(`${address}/registry/groups`, { headers: { authorization: 'Bearer tok' } })).status,
    ).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const logs = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string });
    expect(logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['serving', 'shutting down: draining in-flight requests', 'stopped']),
    );
  });
});
