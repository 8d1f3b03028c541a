import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import {
  fileWatcher,
  type KafkaSecurity,
  readTlsFiles,
  registerSecret,
  tlsProblem,
} from '../../shared/connections.js';
import { ConfigError, ExternalError } from '../../shared/errors.js';

/**
 * kafkajs' `ssl` and `sasl` options for Kafka security settings (`--kafka-tls`, `--kafka-ca`,
 * `--kafka-cert`, `--kafka-key`, `--kafka-servername`, `--kafka-sasl`, `--kafka-username`, the
 * password from `FEATURESTREAM_KAFKA_PASSWORD` or `--kafka-password-file`, `--kafka-token-file`):
 *
 * - TLS when `tls` is set or any TLS file is given; the CA replaces Node's default list.
 * - SASL `plain`, `scram-sha-256`, `scram-sha-512`: username and password, both required.
 * - SASL `oauthbearer`: the token is the contents of `tokenFile`, read at every (re)authentication,
 *   so a rotated Kubernetes projected token is used from the next connection on.
 *
 * Missing pieces are a {@link ConfigError} naming the flag. AWS IAM (`aws`) is not supported.
 *
 * @example
 * new Kafka({ brokers, ...kafkaSecurityOptions({ tls: true, files: {}, sasl: { mechanism: 'scram-sha-512', username: 'fs', password: 'pw' } }) });
 */
export function kafkaSecurityOptions(sec: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const anyFile = sec.files.ca !== undefined || sec.files.cert !== undefined || sec.files.key !== undefined;
  const tls = sec.tls || anyFile || sec.files.servername !== undefined;
  const out: { ssl?: KafkaConfig['ssl']; sasl?: SASLOptions } = {};
  if (tls) {
    const material = readTlsFiles(sec.files, '--kafka');
    out.ssl = Object.keys(material).length === 0 ? true : { ...material };
  }
  const sasl = sec.sasl;
  if (sasl === undefined) return out;
  if (sasl.mechanism === 'oauthbearer') {
    if (sasl.tokenFile === undefined) {
      throw new ConfigError(
        '--kafka-sasl oauthbearer needs --kafka-token-file (FEATURESTREAM_KAFKA_TOKEN_FILE)',
        {
          field: '--kafka-token-file',
        },
      );
    }
    const token = fileWatcher(sasl.tokenFile, '--kafka-token-file');
    token(); // an unreadable file fails at start, not at the first connection
    out.sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token() }) };
    return out;
  }
  if (sasl.username === undefined || sasl.username === '') {
    throw new ConfigError(
      `--kafka-sasl ${sasl.mechanism} needs --kafka-username (FEATURESTREAM_KAFKA_USERNAME)`,
      {
        field: '--kafka-username',
      },
    );
  }
  if (sasl.password === undefined || sasl.password === '') {
    throw new ConfigError(
      `--kafka-sasl ${sasl.mechanism} needs a password: FEATURESTREAM_KAFKA_PASSWORD or --kafka-password-file`,
      { field: '--kafka-password-file' },
    );
  }
  registerSecret(sasl.password);
  out.sasl =
    sasl.mechanism === 'plain'
      ? { mechanism: 'plain', username: sasl.username, password: sasl.password }
      : { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  return out;
}

/**
 * With TLS configured, one TLS handshake with the brokers before kafkajs connects: a certificate
 * problem (a wrong CA, another host's certificate) fails at once with an {@link ExternalError}
 * naming the broker and the problem, where kafkajs would retry it for about 45 s. Brokers that
 * cannot be reached, or time out, are left to kafkajs' retries; the first handshake that succeeds
 * ends the check. Without TLS it does nothing.
 *
 * @example
 * await checkKafkaTls(['kafka-0:9093'], connectionSettings().kafka);
 */
export async function checkKafkaTls(brokers: readonly string[], sec: KafkaSecurity): Promise<void> {
  const { ssl } = kafkaSecurityOptions({ tls: sec.tls, files: sec.files });
  if (ssl === undefined || ssl === false) return;
  const material = ssl === true ? {} : ssl;
  for (const broker of brokers) {
    const at = broker.lastIndexOf(':');
    const host = broker.slice(0, at);
    const port = Number(broker.slice(at + 1));
    const problem = await new Promise<string | null>((resolve) => {
      const socket = tlsConnect({
        host,
        port,
        ...material,
        ...(material.servername === undefined && isIP(host) === 0 ? { servername: host } : {}),
      });
      const done = (p: string | null) => {
        socket.destroy();
        resolve(p);
      };
      socket.setTimeout(5_000, () => done(null));
      socket.once('secureConnect', () => done('ok'));
      socket.once('error', (err) => done(tlsProblem(err)));
    });
    if (problem === 'ok') return;
    if (problem !== null) {
      throw new ExternalError(`--kafka ${broker}: ${problem}`, { field: '--kafka', retryable: false });
    }
  }
}
