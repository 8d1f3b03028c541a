import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FeatureSet } from '../../registry/feature-set.js';
import type { InvalidationSubscription } from '../invalidation.js';
import type { ServeMetrics } from '../metrics.js';
import type { OfflineReader } from '../offline-reader.js';
import type { FeatureReads } from '../reading.js';
import type { FeatureResolver } from '../resolve.js';
import type { ServeOptions } from '../server.js';

/** What the route plugins of one server share (built once by `createServer`). */
export interface RouteContext {
  readonly opts: ServeOptions;
  /** The features and groups served. */
  readonly featureSet: FeatureSet;
  readonly resolver: FeatureResolver;
  readonly reads: FeatureReads;
  readonly metrics: ServeMetrics;
  readonly offline: OfflineReader | null;
  readonly maxBatch: number;
  /** The bearer-token hook, or null without a token. */
  readonly auth: ((request: FastifyRequest, reply: FastifyReply, done: () => void) => void) | null;
  /** The `onResponse` hook recording the metrics of routes that do not record their own. */
  readonly recordHook: (request: FastifyRequest, reply: FastifyReply, done: () => void) => void;
  /** The features route's compiled 200 serializer, set on its first answer (for the fast path). */
  readonly serializers: { features?: (body: unknown) => string };
  /** The L1 invalidation subscription, once subscribed. */
  readonly subscription: () => InvalidationSubscription | null;
}
