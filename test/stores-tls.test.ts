// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configuration files with ${ENV} references
/**
 * Store TLS against real TLS endpoints made here (test/tls-support.ts): a private redis-server
 * with TLS only and client certificates required, a private PostgreSQL with `ssl = on` accepting
 * only TLS with a client certificate. A run writes rows through both; a wrong CA fails at start
 * with one line naming the endpoint and the certificate problem; and a Kubernetes-style start
 * (secrets in the environment, referenced by the configuration file) shows no secret in `ps`,
 * debug logs, `/metrics`, errors or `config show`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from './support.js';
import { makePki, type Pki, TlsPostgres, TlsRedis } from './tls-support.js';

const REDIS_PW = 'redis-Pw-7f3a9c';
const PG_PW = 'pg-Pw-51be0d';
const KAFKA_PW = 'kafka-Pw-c0ffee';
const SR_TOKEN = 'sr-Token-9d8e7f';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(
  args: readonly string[],
  env: Record<string, string> = {},
): ChildProcess & { result: Promise<Run> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      FEATURESTREAM_RETRY_DEADLINE_MS: '5000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const result = new Promise<Run>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return Object.assign(child, { result });
}
const cli = (args: readonly string[], env: Record<string, string> = {}) => start(args, env).result;

describe('store TLS (issue 32)', () => {
  let dir: string;
  let pki: Pki;
  let redis: TlsRedis;
  let postgres: TlsPostgres;
  let events: string;
  const onlineUrl = () => `rediss://:${REDIS_PW}@127.0.0.1:${redis.port}`;
  const offlineUrl = (schema: string) =>
    `postgres://postgres:${PG_PW}@127.0.0.1:${postgres.port}/postgres?sslmode=verify-full&schema=${schema}`;
  const clientTls = () => ({
    ca: readFileSync(pki.ca),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
  });

  beforeAll(async () => {
    dir = tempDir('fs-tls-');
    pki = makePki(join(dir, 'pki'));
    [redis, postgres] = await Promise.all([TlsRedis.start(pki, REDIS_PW), TlsPostgres.start(pki, dir)]);
    events = join(dir, 'events.ndjson');
    const g = await cli(['generate', '--kind', 'perf', '--events', '3000', '--out', events]);
    expect(g.code, g.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  it('a run writes its rows through TLS to Redis (rediss://, CA, client certificate) and PostgreSQL (sslmode, CA, client certificate)', async () => {
    const r = await cli([
      'run',
      '--topology',
      'llm-perf',
      '--input',
      events,
      '--online',
      onlineUrl(),
      '--online-ca',
      pki.ca,
      '--online-cert',
      pki.clientCert,
      '--online-key',
      pki.clientKey,
      '--offline',
      offlineUrl('tls_run'),
      '--offline-ca',
      pki.ca,
      '--offline-cert',
      pki.clientCert,
      '--offline-key',
      pki.clientKey,
      '--state-dir',
      join(dir, 'state-1'),
      '--workers',
      '1',
      '--summary-json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { rowsWritten: number };
    expect(summary.rowsWritten).toBeGreaterThan(0);
    // Read back through TLS: the servers accept nothing else.
    const client = new pg.Client({
      host: '127.0.0.1',
      port: postgres.port,
      user: 'postgres',
      database: 'postgres',
      ssl: { ...clientTls(), servername: 'localhost' },
    });
    await client.connect();
    try {
      const ssl = await client.query<{ ssl: boolean }>(
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(ssl.rows[0]!.ssl).toBe(true);
      const n = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM tls_run.feature_values');
      // Rows by unique key: a replaced revision counts once in the table, once per write in the summary.
      expect(n.rows[0]!.n).toBeGreaterThan(0);
      expect(n.rows[0]!.n).toBeLessThanOrEqual(summary.rowsWritten);
    } finally {
      await client.end();
    }
    const rc = new Redis({ host: '127.0.0.1', port: redis.port, password: REDIS_PW, tls: clientTls() });
    try {
      const keys = await rc.keys('feature:*');
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      rc.disconnect();
    }
    // A plain connection is refused by the hba rules (so the run above was TLS).
    const plain = new pg.Client({
      host: '127.0.0.1',
      port: postgres.port,
      user: 'postgres',
      database: 'postgres',
    });
    await expect(plain.connect()).rejects.toThrow(/pg_hba\.conf|no encryption/);
    await plain.end().catch(() => undefined);
  }, 120_000);

  it('a wrong CA fails at start with one line naming the endpoint and the certificate problem', async () => {
    const online = await cli([
      'run',
      '--input',
      events,
      '--topology',
      'llm-perf',
      '--online',
      onlineUrl(),
      '--online-ca',
      pki.wrongCa,
      '--online-cert',
      pki.clientCert,
      '--online-key',
      pki.clientKey,
      '--state-dir',
      join(dir, 'state-2'),
    ]);
    expect(online.code).toBe(1);
    expect(online.stderr).toBe(
      `featurestream: --online: Redis at rediss://:***@127.0.0.1:${redis.port}: TLS certificate not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain)\n`,
    );
    const offline = await cli([
      'run',
      '--input',
      events,
      '--topology',
      'llm-perf',
      '--offline',
      offlineUrl('tls_wrong'),
      '--offline-ca',
      pki.wrongCa,
      '--offline-cert',
      pki.clientCert,
      '--offline-key',
      pki.clientKey,
      '--state-dir',
      join(dir, 'state-3'),
    ]);
    expect(offline.code).toBe(1);
    expect(offline.stderr.split('\n')).toHaveLength(2);
    expect(offline.stderr).toMatch(
      new RegExp(
        `^featurestream: --offline: PostgreSQL offline store \\(postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${postgres.port}/postgres\\?sslmode=verify-full\\): migrate failed: TLS certificate not trusted \\(SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain\\)\\n$`,
      ),
    );
    // TLS files with a plain redis:// URL: a configuration error naming the flag.
    const plain = await cli([
      'run',
      '--input',
      events,
      '--online',
      `redis://127.0.0.1:${redis.port}`,
      '--online-ca',
      pki.ca,
    ]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toBe(
      `featurestream: --online-ca needs a rediss:// URL (TLS); --online is "redis://127.0.0.1:${redis.port}"\n`,
    );
  }, 120_000);

  it('a Kubernetes-style start keeps every secret out of ps, debug logs, /metrics, errors and config show', async () => {
    // As k8s/ does it: secrets in the environment (secretKeyRef), referenced by the config file.
    const config = join(dir, 'featurestream.yaml');
    writeFileSync(
      config,
      [
        'online:',
        '  url: ${ONLINE_URL}',
        `  ca: ${pki.ca}`,
        `  cert: ${pki.clientCert}`,
        `  key: ${pki.clientKey}`,
        'offline:',
        '  url: ${OFFLINE_URL}',
        `  ca: ${pki.ca}`,
        `  cert: ${pki.clientCert}`,
        `  key: ${pki.clientKey}`,
        'kafka:',
        '  sasl: scram-sha-512',
        '  username: featurestream',
        '  password: ${KAFKA_PASSWORD}',
        'schema-registry:',
        '  url: http://127.0.0.1:1',
        '  token: ${SR_TOKEN}',
        'log-level: debug',
        '',
      ].join('\n'),
    );
    const env = {
      ONLINE_URL: onlineUrl(),
      OFFLINE_URL: offlineUrl('tls_k8s'),
      KAFKA_PASSWORD: KAFKA_PW,
      SR_TOKEN,
      FEATURESTREAM_CONFIG: config,
    };
    const secrets = [REDIS_PW, PG_PW, KAFKA_PW, SR_TOKEN];
    const clean = (what: string, text: string) => {
      for (const s of secrets) expect(text, `${what} shows a secret`).not.toContain(s);
    };
    // A run at debug level: rows through TLS, logs on stderr.
    const run = await cli(
      [
        'run',
        '--topology',
        'llm-perf',
        '--input',
        events,
        '--state-dir',
        join(dir, 'state-4'),
        '--summary-json',
      ],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/"level":20/); // debug lines were written
    clean('run logs', run.stderr + run.stdout);
    // serve, long-running: its arguments, its logs, its metrics.
    const serve = start(['serve', '--port', '0'], env);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      serve.stdout!.on('data', (d: Buffer) => {
        out += String(d);
        if (out.includes('listening on')) resolve();
      });
      serve.once('close', () => reject(new Error('serve exited')));
    });
    const address = /listening on (\S+)/.exec(out)![1]!;
    const args = execFileSync('ps', ['-o', 'args=', '-p', String(serve.pid)], { encoding: 'utf8' });
    expect(args).toContain('serve --port 0');
    clean('ps', args);
    clean('/proc/PID/cmdline', readFileSync(`/proc/${serve.pid}/cmdline`, 'utf8'));
    const base = address.startsWith('http') ? address : `http://${address}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('feature_serving_latency_ms');
    clean('/metrics', metrics);
    const ready = await fetch(`${base}/readyz`);
    clean('/readyz', await ready.text());
    serve.kill('SIGTERM');
    const served = await serve.result;
    expect(served.stderr).toMatch(/"msg":"serving"/);
    clean('serve logs', served.stderr);
    // Errors: a wrong password, a wrong CA, a bad URL.
    const wrongPw = await cli(
      ['run', '--topology', 'llm-perf', '--input', events, '--state-dir', join(dir, 'state-5')],
      {
        ...env,
        ONLINE_URL: `rediss://:not-${REDIS_PW}@127.0.0.1:${redis.port}`,
      },
    );
    expect(wrongPw.code).toBe(1);
    expect(wrongPw.stderr).toBe(
      `featurestream: --online: Redis at rediss://:***@127.0.0.1:${redis.port}: authentication failed (WRONGPASS invalid username-password pair or user is disabled.)\n`,
    );
    clean('a wrong password’s error', wrongPw.stderr);
    const wrongCa = await cli(
      [
        'run',
        '--topology',
        'llm-perf',
        '--input',
        events,
        '--state-dir',
        join(dir, 'state-6'),
        '--online-ca',
        pki.wrongCa,
      ],
      env,
    );
    expect(wrongCa.code).toBe(1);
    clean('a wrong CA’s error', wrongCa.stderr);
    const badUrl = await cli(['run', '--input', events, '--state-dir', join(dir, 'state-7')], {
      ...env,
      ONLINE_URL: `rediss://:${REDIS_PW}@127.0.0.1:99999`,
    });
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toBe(
      'featurestream: --online: not a valid Redis URL: "rediss://:***@127.0.0.1:99999"\n',
    );
    clean('a bad URL’s error', badUrl.stderr);
    const shown = await cli(['config', 'show', '--command', 'run'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/kafka\.password\s+\*\*\*/);
    clean('config show', shown.stdout);
  }, 180_000);
});
