import type { Consumer } from 'kafkajs';

/** What {@link restartWhenKafkaJsGivesUp} does around a restart. */
export interface ConsumerRestartOptions {
  /** Runs the consumer again (`consumer.run(config)` with the config it ran with). */
  readonly run: () => Promise<void>;
  /** True once the owner is stopping: no restart then. */
  readonly stopping: () => boolean;
  /** A crash kafkajs will not restart from, before the restart is decided (e.g. fail the work in hand). */
  readonly onGaveUp?: (err: unknown) => void;
  /** Just before a restart, with its number since the last join. */
  readonly onRestart?: (attempt: number) => void;
  /** The consumer stays down: a crash not from kafkajs (ours are final), too many, or a failed restart. */
  readonly onFatal: (err: unknown) => void;
  /** Restarts without a join between them before giving up. Default 20. */
  readonly maxRestarts?: number;
  /** Wait before a restart. Default 1000 ms. */
  readonly delayMs?: number;
}

/**
 * Restarts a kafkajs consumer after a crash kafkajs does not restart from itself (a non-retriable
 * error, e.g. a broker answering a SyncGroup that raced a rebalance with INVALID_REQUEST, or a
 * fetch refused as unauthorized): kafkajs leaves such a consumer stopped for good. The errors of
 * the consumer's own handlers (not kafkajs') are final. The count of restarts starts again at
 * every join. Used by the Kafka job's group consumer and by the changelog reader's.
 *
 * @example
 * restartWhenKafkaJsGivesUp(consumer, {
 *   run: () => consumer.run(config),
 *   stopping: () => stopping,
 *   onFatal: (err) => fail(err),
 * });
 */
export function restartWhenKafkaJsGivesUp(consumer: Consumer, opts: ConsumerRestartOptions): void {
  const max = opts.maxRestarts ?? 20;
  let restarts = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    restarts = 0;
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart === true || opts.stopping()) return;
    const err = e.payload.error;
    opts.onGaveUp?.(err);
    const fromKafkaJs = err instanceof Error && err.name.startsWith('KafkaJS');
    if (!fromKafkaJs || ++restarts > max) {
      opts.onFatal(err);
      return;
    }
    setTimeout(() => {
      if (opts.stopping()) return;
      opts.onRestart?.(restarts);
      opts.run().catch((e2: unknown) => opts.onFatal(e2));
    }, opts.delayMs ?? 1000);
  });
}
