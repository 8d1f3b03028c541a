// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configuration files with ${ENV} references
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from './support.js';

/** `featurestream ARGS` with only `env` beside PATH/HOME (no FEATURESTREAM_* of the caller's). */
function cli(args: readonly string[], env: Record<string, string> = {}, cwd = ROOT) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

interface Shown {
  file: string | null;
  values: { key: string; value: unknown; source: string }[];
}
const show = async (args: readonly string[], env: Record<string, string> = {}) => {
  const r = await cli(['config', 'show', '--json', ...args], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as Shown;
  return { ...out, get: (key: string) => out.values.find((v) => v.key === key) };
};

describe('configuration in layers (issue 32)', () => {
  const dir = tempDir('fs-config-');
  const file = join(dir, 'featurestream.yaml');
  writeFileSync(
    file,
    [
      'online: rediss://:${REDIS_PASSWORD}@redis.example:6380/0',
      'offline:',
      '  url: postgres://fs:${PG_PASSWORD}@db.example:5432/features?sslmode=verify-full',
      '  ca: /etc/tls/pg-ca.pem',
      'kafka:',
      '  brokers: [k1.example:9093, k2.example:9093]',
      '  tls: true',
      '  sasl: scram-sha-512',
      '  username: featurestream',
      '  password: ${KAFKA_PASSWORD}',
      'schema-registry:',
      '  url: https://sr.example',
      '  token: ${SR_TOKEN:-none-given}',
      'log-level: info',
      'serve:',
      '  port: 9090',
      '  host: 0.0.0.0',
      '',
    ].join('\n'),
  );
  const secrets = {
    REDIS_PASSWORD: 'redis-S3cret-pw',
    PG_PASSWORD: 'pg-S3cret-pw',
    KAFKA_PASSWORD: 'kafka-S3cret-pw',
    SR_TOKEN: 'sr-S3cret-token',
  };

  it('the file, with ${ENV} substituted, fills what flags and environment leave; secrets are redacted with their source', async () => {
    const s = await show(['--config', file, '--command', 'serve'], secrets);
    expect(s.file).toBe(file);
    expect(s.get('serve.port')).toEqual({ key: 'serve.port', value: 9090, source: `${file}: serve.port` });
    expect(s.get('online.url')?.value).toBe('rediss://:***@redis.example:6380/0');
    expect(s.get('offline.url')?.value).toBe(
      'postgres://fs:***@db.example:5432/features?sslmode=verify-full',
    );
    expect(s.get('offline.ca')).toMatchObject({ value: '/etc/tls/pg-ca.pem', source: `${file}: offline.ca` });
    expect(s.get('kafka.brokers')).toMatchObject({ value: 'k1.example:9093,k2.example:9093' });
    expect(s.get('kafka.password')).toMatchObject({ value: '***', source: `${file}: kafka.password` });
    expect(s.get('schema-registry.token')).toMatchObject({ value: '***' });
    expect(s.get('log-level')).toMatchObject({ value: 'info', source: `${file}: log-level` });
    expect(s.get('serve.max-batch')).toMatchObject({ value: 100, source: 'default' });
    const text = JSON.stringify(s.values);
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    // The human format says the same.
    const human = await cli(['config', 'show', '--config', file, '--command', 'serve'], secrets);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^serve\.port\s+9090\s+\(.*featurestream\.yaml: serve\.port\)$/m);
    for (const secret of Object.values(secrets)) expect(human.stdout).not.toContain(secret);
  });

  it('the environment beats the file, the command line beats both', async () => {
    const env = { ...secrets, FEATURESTREAM_SERVE_PORT: '7070', FEATURESTREAM_CONFIG: file };
    const s = await show(['--command', 'serve'], env);
    expect(s.get('serve.port')).toEqual({
      key: 'serve.port',
      value: 7070,
      source: 'env FEATURESTREAM_SERVE_PORT',
    });
    expect(s.get('serve.host')).toMatchObject({ value: '0.0.0.0', source: `${file}: serve.host` });
    // A connection setting: one name in every command.
    const env2 = { ...env, FEATURESTREAM_ONLINE: 'redis://127.0.0.1:6399' };
    for (const command of ['serve', 'run', 'replay']) {
      const r = await show(['--command', command], env2);
      expect(r.get('online.url'), command).toMatchObject({
        value: 'redis://127.0.0.1:6399',
        source: 'env FEATURESTREAM_ONLINE',
      });
    }
    // The command line: a real action sees the flag's value over the environment's (a bad one
    // from the command line is reported as the flag's, not the variable's).
    const bad = await cli(['serve', '--port', 'x', '--online', 'none', '--offline', 'none'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port');
    expect(bad.stderr).not.toContain('FEATURESTREAM_SERVE_PORT');
  });

  it('a secret can come from a _FILE variable or a -file key', async () => {
    const pw = join(dir, 'kafka-password');
    writeFileSync(pw, 'from-a-file-pw\n');
    const missing = await cli(['config', 'show', '--command', 'run'], {
      FEATURESTREAM_OFFLINE_FILE: join(dir, 'offline-url'),
    });
    // The offline URL file does not exist yet: one line naming the variable and the path.
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `featurestream: env FEATURESTREAM_OFFLINE_FILE: cannot read ${join(dir, 'offline-url')}: ENOENT\n`,
    );
    writeFileSync(join(dir, 'offline-url'), 'postgres://fs:file-pg-pw@db:5432/x\n');
    const ok = await show(['--command', 'run'], {
      FEATURESTREAM_KAFKA: 'k:9093',
      FEATURESTREAM_KAFKA_SASL: 'plain',
      FEATURESTREAM_KAFKA_USERNAME: 'fs',
      FEATURESTREAM_KAFKA_PASSWORD_FILE: pw,
      FEATURESTREAM_OFFLINE_FILE: join(dir, 'offline-url'),
    });
    expect(ok.get('kafka.password')).toMatchObject({
      value: '***',
      source: `env FEATURESTREAM_KAFKA_PASSWORD_FILE (${pw})`,
    });
    expect(ok.get('offline.url')).toMatchObject({ value: 'postgres://fs:***@db:5432/x' });
    // Paths in the file are relative to the file's directory.
    writeFileSync(join(dir, 'sr-token'), 'sr-relative-token\n');
    const rel = join(dir, 'relative.yaml');
    writeFileSync(
      rel,
      'online:\n  url: rediss://r:6380\n  ca: tls/ca.pem\nschema-registry:\n  url: https://sr\n  token-file: sr-token\n',
    );
    const r = await show(['--config', rel, '--command', 'serve']);
    expect(r.get('online.ca')).toMatchObject({ value: join(dir, 'tls/ca.pem') });
    expect(r.get('schema-registry.token-file')).toMatchObject({ value: join(dir, 'sr-token') });
  });

  it('bad values fail with one line naming the key and where it came from (exit 2)', async () => {
    const cases: [Record<string, string>, string[], RegExp][] = [
      [
        { FEATURESTREAM_SERVE_PORT: 'eighty' },
        ['--command', 'serve'],
        /^featurestream: env FEATURESTREAM_SERVE_PORT: --port must be an integer ≥ 0, got "eighty"\n$/,
      ],
      [
        { FEATURESTREAM_KAFKA_SASL: 'gssapi' },
        ['--command', 'run'],
        /^featurestream: env FEATURESTREAM_KAFKA_SASL: --kafka-sasl must be one of plain, scram-sha-256, scram-sha-512, oauthbearer, got "gssapi"\n$/,
      ],
      [
        { FEATURESTREAM_KAFKA_TLS: 'maybe' },
        ['--command', 'run'],
        /^featurestream: env FEATURESTREAM_KAFKA_TLS: --kafka-tls is a switch: true or false, got "maybe"\n$/,
      ],
      [
        { FEATURESTREAM_KAFKA_USERNAME: 'fs' },
        ['--command', 'run'],
        /^featurestream: env FEATURESTREAM_KAFKA_USERNAME: kafka.username is set but no SASL mechanism/,
      ],
    ];
    for (const [env, args, line] of cases) {
      const r = await cli(['config', 'show', ...args], env);
      expect(r.code, JSON.stringify(env)).toBe(2);
      expect(r.stderr).toMatch(line);
    }
    const files: [string, RegExp][] = [
      ['kafka:\n  sasl: kerberos\n', /^featurestream: .*bad\.yaml: kafka\.sasl: /],
      ['kafka:\n  passwrd: x\n', /^featurestream: .*bad\.yaml: unknown key kafka\.passwrd\n$/],
      ['serve:\n  prot: 1\n', /^featurestream: .*bad\.yaml: serve\.prot: no --prot flag in `serve`\n$/],
      [
        'serve:\n  port: -1\n',
        /^featurestream: .*bad\.yaml: serve\.port: --port must be an integer ≥ 0, got "-1"\n$/,
      ],
      ['srve:\n  port: 1\n', /^featurestream: .*bad\.yaml: unknown section "srve"/],
      [
        'online: ${NOT_SET_ANYWHERE}\n',
        /^featurestream: .*bad\.yaml: online: \$\{NOT_SET_ANYWHERE\} is not set in the environment\n$/,
      ],
    ];
    // A scoped variable naming no flag of the command: a warning, not silence.
    const typo = await cli(['config', 'show', '--command', 'serve'], {
      FEATURESTREAM_CONFIG_SHOW_JSONN: '1',
    });
    expect(typo.code).toBe(0);
    expect(typo.stderr).toBe(
      'featurestream: warning: env FEATURESTREAM_CONFIG_SHOW_JSONN names no flag of `config show`: ignored\n',
    );
    const bad = join(dir, 'bad.yaml');
    for (const [text, line] of files) {
      writeFileSync(bad, text);
      const r = await cli(['config', 'show', '--config', bad, '--command', 'serve']);
      expect(r.code, text).toBe(2);
      expect(r.stderr, text).toMatch(line);
    }
  });
});
