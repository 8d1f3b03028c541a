import { createRequire } from 'node:module';
import { InternalError } from '../../shared/errors.js';

/**
 * The error a stopped kafkajs runner's fetch now rejects with (see {@link guardStoppedRunnerFetch}).
 * It is retriable, so kafkajs' runner takes its ordinary "not running: exit" path after it, and
 * no consumer crash is reported for it.
 */
export class StoppedRunnerFetchError extends Error {
  readonly retriable = true;
  constructor() {
    super('fetch on a stopped kafkajs consumer: its fetchers end');
    this.name = 'StoppedRunnerFetchError';
  }
}

const GUARDED = Symbol.for('featurestream.kafkajs-runner-guard');

/** What the guard uses of kafkajs' `Runner.prototype`. */
export interface RunnerPrototype {
  running: boolean;
  fetch(nodeId: number): Promise<unknown[]>;
  /** kafkajs' own fetch, kept when the guard is installed. */
  [GUARDED]?: (nodeId: number) => Promise<unknown[]>;
}

/** kafkajs' consumer runner class (CommonJS, loaded from the same module cache as kafkajs itself). */
export function kafkajsRunnerPrototype(): RunnerPrototype {
  const require = createRequire(import.meta.url);
  const Runner = require('kafkajs/src/consumer/runner.js') as { prototype: RunnerPrototype };
  return Runner.prototype;
}

/**
 * Stops kafkajs 2.2.4's consumer from spinning forever once its runner has stopped.
 *
 * kafkajs' fetcher loops `while (isRunning) await fetch(nodeId)`, and `Runner.fetch` answers `[]`
 * at once when the runner is no longer running. When the runner stops while its fetch manager is
 * re-creating fetchers (a broker left the cluster metadata: `KafkaJSFetcherRebalanceError`), the
 * new fetchers are never told to stop: each loops on an empty answer in microtasks only, so the
 * event loop never turns again — a member whose brokers vanished mid-run kept a core at ~90 %
 * and answered nothing (timers, `/healthz`, signals) until killed (seen 2026-12-04, profiled to
 * `fetcher.js start` → `Runner.fetch`; kafkajs issues #1384, #1387, #1639 are the same family).
 *
 * With the guard, a fetch on a stopped runner rejects with {@link StoppedRunnerFetchError}: the
 * fetcher ends, the fetch manager rethrows, and the runner's retrier finds it stopped and exits
 * as on an ordinary stop. An ordinary stop never reaches the guard: kafkajs clears the runner's
 * flag and its fetchers' flags in the same tick. Installed once per process, idempotent.
 */
export function guardStoppedRunnerFetch(): void {
  const proto = kafkajsRunnerPrototype();
  if (proto[GUARDED] !== undefined) return;
  const fetch = proto.fetch;
  if (typeof fetch !== 'function')
    throw new InternalError(
      'kafkajs has no Runner.prototype.fetch (kafkajs/src/consumer/runner.js): the stopped-consumer guard was written for kafkajs 2.2.4; check it against the installed version',
    );
  proto.fetch = function guardedFetch(this: RunnerPrototype, nodeId: number): Promise<unknown[]> {
    if (!this.running) return Promise.reject(new StoppedRunnerFetchError());
    return fetch.call(this, nodeId);
  };
  proto[GUARDED] = fetch;
}

/** kafkajs' own `Runner.prototype.fetch`, whether or not the guard is installed. */
export function unguardedRunnerFetch(): (nodeId: number) => Promise<unknown[]> {
  const proto = kafkajsRunnerPrototype();
  return proto[GUARDED] ?? proto.fetch;
}
