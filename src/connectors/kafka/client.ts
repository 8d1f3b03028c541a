import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { useFastGzip } from './gzip-codec.js';
import { useFastRecordDecoder } from './record-decoder.js';
import { guardStoppedRunnerFetch } from './runner-guard.js';

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
 * first fetch), and kafkajs' stopped-consumer spin guarded ({@link guardStoppedRunnerFetch}).
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
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });
}
