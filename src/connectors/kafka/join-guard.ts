import { createRequire } from 'node:module';
import { InternalError } from '../../shared/errors.js';

const GUARDED = Symbol.for('featurestream.kafkajs-join-guard');
const IN_FLIGHT = Symbol.for('featurestream.kafkajs-join-in-flight');

/** What the guard uses of kafkajs' `ConsumerGroup.prototype`. */
export interface ConsumerGroupPrototype {
  joinAndSync(): Promise<void>;
  /** kafkajs' own joinAndSync, kept when the guard is installed. */
  [GUARDED]?: () => Promise<void>;
}

/** kafkajs' consumer group class (CommonJS, loaded from the same module cache as kafkajs itself). */
export function kafkajsConsumerGroupPrototype(): ConsumerGroupPrototype {
  const require = createRequire(import.meta.url);
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as {
    prototype: ConsumerGroupPrototype;
  };
  return ConsumerGroup.prototype;
}

/**
 * Makes kafkajs 2.2.4's rejoins of one consumer share a single JoinGroup + SyncGroup.
 *
 * kafkajs rejoins from several places at once: each broker's fetcher that gets a stale-metadata
 * error (`NOT_LEADER_FOR_PARTITION`, …) calls `joinAndSync()` on its own, and so does the runner
 * after a heartbeat said "rebalancing". Concurrent calls each send a JoinGroup for the same
 * member; every join moves the group to a new generation, so the other call's SyncGroup is
 * refused (`ILLEGAL_GENERATION`), it joins again, and refuses the first one's in turn: under
 * repeated fetch errors a member whose partitions sat on three brokers rejoined every few seconds
 * for minutes and read nothing (seen in the broker-fault soak, test/soak/kafka-faults.test.ts).
 *
 * With the guard, a call while a rejoin is in progress waits for that rejoin instead of starting
 * another: one join satisfies every caller (each only needs the member to be in the group).
 * Installed once per process, idempotent.
 */
export function guardConcurrentJoins(): void {
  const proto = kafkajsConsumerGroupPrototype();
  if (proto[GUARDED] !== undefined) return;
  const joinAndSync = proto.joinAndSync;
  if (typeof joinAndSync !== 'function')
    throw new InternalError(
      'kafkajs has no ConsumerGroup.prototype.joinAndSync (kafkajs/src/consumer/consumerGroup.js): the join guard was written for kafkajs 2.2.4; check it against the installed version',
    );
  proto.joinAndSync = function sharedJoinAndSync(
    this: ConsumerGroupPrototype & { [IN_FLIGHT]?: Promise<void> },
  ): Promise<void> {
    const running = this[IN_FLIGHT];
    if (running !== undefined) return running;
    const started = joinAndSync.call(this).finally(() => {
      if (this[IN_FLIGHT] === started) this[IN_FLIGHT] = undefined;
    });
    this[IN_FLIGHT] = started;
    return started;
  };
  proto[GUARDED] = joinAndSync;
}
