/**
 * L1 invalidation over Redis pub/sub. The sink publishes, on channel
 * {@link INVALIDATION_CHANNEL}, messages of newline-separated online-store keys it has written;
 * each key is dropped from L1. While the subscription is down messages may be lost, so L1 is
 * switched off, and emptied when the subscription is back.
 *
 * @example
 * const sub = await subscribeInvalidations({ url: 'redis://127.0.0.1:6379', onKeys: (k) => tiers.invalidate(k),
 *   onDown: () => tiers.setL1Active(false), onUp: () => tiers.setL1Active(true) });
 * await sub.close();
 */
import { Redis } from 'ioredis';
import { redisTlsOptions } from '../stores/tls.js';

let instances = 0;

/** The channel the sink publishes written online-store keys on. */
export const INVALIDATION_CHANNEL = 'featurestream:invalidate';

/** Options of {@link subscribeInvalidations}. */
export interface InvalidationOptions {
  readonly url: string;
  readonly channel?: string;
  /** Keys of one message (non-empty lines). */
  readonly onKeys: (keys: string[]) => void;
  /** The subscription is confirmed (first time and after every reconnect). */
  readonly onUp: () => void;
  /** The connection was lost: messages may be missed from now on. */
  readonly onDown: () => void;
  /** How long to wait for the first subscription before returning anyway. Default 5 000 ms. */
  readonly startTimeoutMs?: number;
  readonly warn?: (msg: string, err: unknown) => void;
}

/** A running subscription. */
export interface InvalidationSubscription {
  /** True while subscribed. */
  readonly subscribed: boolean;
  close(): Promise<void>;
}

/**
 * Subscribes to the invalidation channel. Resolves once subscribed, or after `startTimeoutMs`
 * while still retrying in the background (the server then starts with L1 off and `/readyz`
 * reports the subscription as down).
 */
export async function subscribeInvalidations(
  options: InvalidationOptions,
): Promise<InvalidationSubscription> {
  const channel = options.channel ?? INVALIDATION_CHANNEL;
  const warn = options.warn ?? (() => {});
  const client = new Redis(options.url, {
    // TLS for rediss:// with the process's --online-ca/-cert/-key.
    ...redisTlsOptions(options.url),
    // Named, so an operator (or a test) can find the subscriber in CLIENT LIST.
    connectionName: `featurestream-serve-inv:${process.pid}:${++instances}`,
    // We subscribe ourselves on every `ready`, so we know exactly when we are subscribed again.
    autoResubscribe: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: true,
  });
  let subscribed = false;
  let closed = false;
  let resolveFirst: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });
  client.on('error', (err: unknown) => warn('invalidation subscriber: Redis error', err));
  client.on('close', () => {
    if (subscribed) {
      subscribed = false;
      options.onDown();
    }
  });
  client.on('ready', () => {
    client.subscribe(channel).then(
      () => {
        subscribed = true;
        options.onUp();
        resolveFirst();
      },
      (err: unknown) => warn('invalidation subscriber: SUBSCRIBE failed', err),
    );
  });
  client.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    const keys: string[] = [];
    for (const line of message.split('\n')) {
      const key = line.trim();
      if (key !== '') keys.push(key);
    }
    if (keys.length > 0) options.onKeys(keys);
  });
  client.connect().catch((err: unknown) => warn('invalidation subscriber: connect failed', err));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    first,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.startTimeoutMs ?? 5_000);
    }),
  ]);
  clearTimeout(timer);
  return {
    get subscribed() {
      return subscribed && !closed;
    },
    async close() {
      closed = true;
      client.removeAllListeners('close');
      try {
        if (client.status === 'ready') await client.quit();
        else client.disconnect();
      } catch {
        client.disconnect();
      }
    },
  };
}
