import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { useFastGzip } from './gzip-codec.js';
import { useFastRecordDecoder } from './record-decoder.js';
import { guardStoppedRunnerFetch } from './runner-guard.js';
import { connectionSettings } from '../../shared/connections.js';
import { kafkaSecurityOptions } from './security.js';

/** What featurestream sets on a kafkajs client; the rest is kafkajs' default. */
export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly retry?: KafkaConfig['retry'];
}

/**
 * The one place featurestream makes a kafkajs client (the Kafka job, the Kafka replay scan):
 * kafkajs' own logging off (the job logs what happened with pino) and featurestream's gzip codec
 * installed ({@link useFastGzip}: kafkajs keeps codecs in one process-wide table, so it must be
 * in place before the client's first fetch), featurestream's record decoder in place of kafkajs'
 * ({@link useFastRecordDecoder}: the same records, decoded faster; also only before the process's
 * first fetch), kafkajs' stopped-consumer spin guarded ({@link guardStoppedRunnerFetch}), and the
 * process's TLS and SASL settings applied ({@link kafkaSecurityOptions}, `src/shared/connections.ts`).
 *
 * @example
 * const kafka = kafkaClient({ brokers: ['kafka:9092'], clientId: 'featurestream-replay' });
 * const admin = kafka.admin();
 */
export function kafkaClient(opts: KafkaClientOptions): Kafka {
  useFastGzip();
  useFastRecordDecoder();
  guardStoppedRunnerFetch();
  return new Kafka({
    brokers: [...opts.brokers],
    clientId: opts.clientId,
    logLevel: logLevel.NOTHING,
    // TLS and SASL: the process's Kafka security settings (every client featurestream builds).
    ...kafkaSecurityOptions(connectionSettings().kafka),
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });
}
