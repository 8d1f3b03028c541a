// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configuration files with ${ENV} references
/**
 * Kafka security as kafkajs receives it. No SASL-enabled Kafka broker can be installed on this
 * machine (the test broker, librdkafka's mock cluster, listens in plaintext without SASL), so the
 * SASL mechanisms are checked on the kafkajs options that `kafkaClient` — the one place every
 * kafkajs client is made (group consumer, producers, admin, changelog reader, `replay --kafka`) —
 * passes to kafkajs, built from flags, environment and configuration file through the real
 * command-line pipeline. Schema-registry auth is checked against a real local HTTP server.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import type { KafkaConfig } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { installConfigLayers } from '../src/cli/config.js';
import { registerKafkaOptions } from '../src/cli/kafka.js';
import { PayloadDecoder } from '../src/connectors/kafka/payload.js';
import { kafkaSecurityOptions } from '../src/connectors/kafka/security.js';
import { connectionSettings, redactSecrets } from '../src/shared/connections.js';
import { tempDir } from './support.js';

const dir = tempDir('fs-kafka-sec-');
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env))
    if (k.startsWith('FEATURESTREAM_') || k.startsWith('T_')) delete process.env[k];
  Object.assign(process.env, saved);
});

/** Parses `run ARGS` as the CLI does (layers included) and returns the kafkajs security options. */
async function kafkaOptionsOf(args: readonly string[], env: Record<string, string> = {}) {
  Object.assign(process.env, env);
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  installConfigLayers(program);
  let built: Pick<KafkaConfig, 'ssl' | 'sasl'> | undefined;
  registerKafkaOptions(program.command('run').option('--online <url>')).action(() => {
    built = kafkaSecurityOptions(connectionSettings().kafka);
  });
  await program.parseAsync(['node', 'featurestream', 'run', ...args]);
  return built!;
}

describe('Kafka SASL and TLS options (issue 32)', () => {
  it('SASL PLAIN from the environment', async () => {
    const o = await kafkaOptionsOf(['--kafka', 'k:9093'], {
      FEATURESTREAM_KAFKA_SASL: 'plain',
      FEATURESTREAM_KAFKA_USERNAME: 'fs',
      FEATURESTREAM_KAFKA_PASSWORD: 'plain-pw-1',
    });
    expect(o).toEqual({ sasl: { mechanism: 'plain', username: 'fs', password: 'plain-pw-1' } });
    expect(redactSecrets('auth failed for plain-pw-1')).toBe('auth failed for ***');
  });

  it('SCRAM-SHA-256 from flags, the password from a file; TLS with a CA and server name', async () => {
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const pw = file('scram-pw', 'scram-pw-2\n');
    const o = await kafkaOptionsOf([
      '--kafka',
      'k:9093',
      '--kafka-sasl',
      'scram-sha-256',
      '--kafka-username',
      'fs',
      '--kafka-password-file',
      pw,
      '--kafka-ca',
      ca,
      '--kafka-servername',
      'kafka.example',
    ]);
    expect(o.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'fs', password: 'scram-pw-2' });
    expect(o.ssl).toEqual({
      ca: Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'),
      servername: 'kafka.example',
    });
  });

  it('SCRAM-SHA-512 from the configuration file, its password from the environment; the command line wins', async () => {
    const config = file(
      'scram.yaml',
      'kafka:\n  brokers: k:9093\n  tls: true\n  sasl: scram-sha-512\n  username: from-file\n  password: ${T_KAFKA_PW}\n',
    );
    const o = await kafkaOptionsOf(['--config', config], { T_KAFKA_PW: 'scram-pw-3' });
    expect(o).toEqual({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'from-file', password: 'scram-pw-3' },
    });
    const over = await kafkaOptionsOf(['--config', config, '--kafka-username', 'from-flag'], {
      T_KAFKA_PW: 'scram-pw-3',
      FEATURESTREAM_KAFKA_USERNAME: 'from-env',
    });
    expect(over.sasl).toMatchObject({ username: 'from-flag' });
    const env = await kafkaOptionsOf(['--config', config], {
      T_KAFKA_PW: 'x',
      FEATURESTREAM_KAFKA_USERNAME: 'from-env',
    });
    expect(env.sasl).toMatchObject({ username: 'from-env' });
  });

  it('OAUTHBEARER: the token file is read again at each authentication, so a rotated token is used', async () => {
    const token = file('token', 'token-A\n');
    const o = await kafkaOptionsOf(['--kafka', 'k:9093', '--kafka-tls'], {
      FEATURESTREAM_KAFKA_SASL: 'oauthbearer',
      FEATURESTREAM_KAFKA_TOKEN_FILE: token,
    });
    expect(o.ssl).toBe(true);
    const sasl = o.sasl as { mechanism: string; oauthBearerProvider: () => Promise<{ value: string }> };
    expect(sasl.mechanism).toBe('oauthbearer');
    expect(await sasl.oauthBearerProvider()).toEqual({ value: 'token-A' });
    writeFileSync(token, 'token-B\n'); // as the kubelet replaces a projected token
    expect(await sasl.oauthBearerProvider()).toEqual({ value: 'token-B' });
    expect(redactSecrets('token-A token-B')).toBe('*** ***');
  });

  it('missing pieces are one line naming the flag', async () => {
    await expect(
      kafkaOptionsOf(['--kafka', 'k:9093', '--kafka-sasl', 'scram-sha-512', '--kafka-username', 'fs']),
    ).rejects.toThrow(
      '--kafka-sasl scram-sha-512 needs a password: FEATURESTREAM_KAFKA_PASSWORD or --kafka-password-file',
    );
    await expect(kafkaOptionsOf(['--kafka', 'k:9093', '--kafka-sasl', 'oauthbearer'])).rejects.toThrow(
      '--kafka-sasl oauthbearer needs --kafka-token-file (FEATURESTREAM_KAFKA_TOKEN_FILE)',
    );
    await expect(kafkaOptionsOf(['--kafka', 'k:9093', '--kafka-ca', join(dir, 'nope.pem')])).rejects.toThrow(
      `--kafka-ca: cannot read ${join(dir, 'nope.pem')}: ENOENT`,
    );
    await expect(kafkaOptionsOf(['--kafka', 'k:9093', '--kafka-sasl', 'aws'])).rejects.toThrow(
      /Allowed choices are plain, scram-sha-256, scram-sha-512, oauthbearer/,
    );
  });
});

describe('schema registry auth (issue 32)', () => {
  /** A registry that serves schema 1 and records each request's Authorization header. */
  async function registry() {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      res.end(JSON.stringify({ schema: JSON.stringify({ type: 'object' }), schemaType: 'JSON' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      close: () => server.close(),
    };
  }
  const framed = (id: number) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), Buffer.from('{"a":1}')]);

  it('basic auth and a bearer token from a file reach the registry', async () => {
    const r = await registry();
    try {
      await kafkaOptionsOf(
        ['--kafka', 'k:9093', '--schema-registry', r.url, '--schema-registry-username', 'sr'],
        {
          FEATURESTREAM_SCHEMA_REGISTRY_PASSWORD: 'sr-pw-4',
        },
      );
      await new PayloadDecoder({ format: 'registry', registryUrl: r.url }).decode([framed(1)]);
      expect(r.seen.at(-1)).toBe(`Basic ${Buffer.from('sr:sr-pw-4').toString('base64')}`);
      delete process.env.FEATURESTREAM_SCHEMA_REGISTRY_PASSWORD;
      const token = file('sr-token', 'sr-token-5\n');
      await kafkaOptionsOf([
        '--kafka',
        'k:9093',
        '--schema-registry',
        r.url,
        '--schema-registry-token-file',
        token,
      ]);
      const decoder = new PayloadDecoder({ format: 'registry', registryUrl: r.url });
      await decoder.decode([framed(2)]);
      expect(r.seen.at(-1)).toBe('Bearer sr-token-5');
      writeFileSync(token, 'sr-token-6\n');
      await decoder.decode([framed(3)]);
      expect(r.seen.at(-1)).toBe('Bearer sr-token-6');
    } finally {
      r.close();
    }
  });
});
