/**
 * The Kafka cluster of the Kafka benches (`bench:kafka`, `bench:freshness`): the project's
 * Kafka-protocol test broker (test/kafka/mockbroker, the librdkafka mock cluster), or the
 * cluster `KAFKA_BROKERS` names.
 */
import { execFileSync, spawn } from 'node:child_process';

/** A Kafka cluster for a bench: the test broker this process started, or `KAFKA_BROKERS`. */
export interface Broker {
  readonly brokers: string[];
  stop(): Promise<void>;
}

/**
 * Starts the project's Kafka-protocol test broker (3 brokers) with `topic` created with
 * `partitions` partitions, or uses `KAFKA_BROKERS` when set (the topic must exist there).
 */
export async function startBroker(topic: string, partitions: number): Promise<Broker> {
  const env = process.env.KAFKA_BROKERS;
  if (env !== undefined && env !== '') return { brokers: env.split(','), stop: async () => {} };
  const script =
    process.env.FEATURESTREAM_KAFKA_BUILD ??
    new URL('../../test/kafka/mockbroker/build.sh', import.meta.url).pathname;
  const bin = execFileSync('bash', [script], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const child = spawn(bin, ['3', `${topic}:${partitions}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const bootstrap = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d.trim().split('\n')[0]!));
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  return {
    brokers: bootstrap.split(','),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}
