/**
 * The serving routes, `GET /features/:entity_type/:entity_id` and `POST /features/batch`: no
 * `onResponse` hook on them; they record their metrics themselves right after `reply.send`
 * (which serializes and writes synchronously). L1 hits of the GET route are usually answered
 * before fastify by the fast path (../fast-path.ts) with the same bytes; this is the full route.
 *
 * @example
 * await app.register(featureRoutes(ctx));
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type BatchItem, batchItem, type FeaturesQuery, single } from '../reading.js';
import { batchBody, batchResponse, featuresParams, featuresQuery, featuresResponse } from '../schemas.js';
import { elapsedMs, round3, STARTED, type StampedRequest } from '../timing.js';
import type { RouteContext } from './context.js';

/** The serving routes as a fastify plugin. */
export function featureRoutes(ctx: RouteContext) {
  const { resolver, reads, metrics, maxBatch } = ctx;

  /** Sends a 200 body (serialized and written synchronously) and records the response. */
  function respond(reply: FastifyReply, route: string, body: unknown): void {
    reply.send(body);
    metrics.response(route, 200, elapsedMs(reply.request, reply));
  }

  return async (scope: FastifyInstance): Promise<void> => {
    if (ctx.auth !== null) scope.addHook('onRequest', ctx.auth);

    scope.get<{ Params: { entity_type: string; entity_id: string }; Querystring: FeaturesQuery }>(
      '/features/:entity_type/:entity_id',
      {
        config: { metricsRoute: 'features', selfMetrics: true },
        schema: { params: featuresParams, querystring: featuresQuery, response: { 200: featuresResponse } },
      },
      (request, reply) => {
        (request.raw as StampedRequest)[STARTED] ??= performance.now(); // injected requests
        ctx.serializers.features ??= reply.getSerializationFunction('200') as
          | ((body: unknown) => string)
          | undefined;
        const { entity_type: entityType, entity_id: entityId } = request.params;
        const q = request.query;
        const plan = resolver.resolve(q.features, entityType);
        const atMs = reads.parseAt(q.at, 'at');
        const out = reads.serve(entityType, entityId, plan, q.version, q.user_id, atMs);
        if (out instanceof Promise) {
          out.then(
            (s) => respond(reply, 'features', single(entityId, s, reply)),
            (err: unknown) => reply.send(err),
          );
        } else {
          respond(reply, 'features', single(entityId, out, reply));
        }
      },
    );

    scope.post<{ Body: { requests: BatchItem[] } }>(
      '/features/batch',
      {
        config: { metricsRoute: 'batch', selfMetrics: true },
        schema: { body: batchBody(maxBatch), response: { 200: batchResponse } },
      },
      (request, reply) => {
        (request.raw as StampedRequest)[STARTED] ??= performance.now(); // injected requests
        const items = request.body.requests;
        const results = new Array<unknown>(items.length);
        let pending: Promise<unknown>[] | null = null;
        // Validate every item before reading anything, so a bad item fails the batch cleanly.
        const plans = items.map((it, i) => {
          const plan = resolver.resolve(it.features, it.entity_type, `requests[${i}].features`);
          return { plan, atMs: reads.parseAt(it.at, `requests[${i}].at`) };
        });
        for (let i = 0; i < items.length; i++) {
          const it = items[i]!;
          const { plan, atMs } = plans[i]!;
          const out = reads.serve(it.entity_type, it.entity_id, plan, it.version, it.user_id, atMs);
          if (out instanceof Promise) {
            if (pending === null) pending = [];
            pending.push(
              out.then((s) => {
                results[i] = batchItem(it, s);
              }),
            );
          } else {
            results[i] = batchItem(it, out);
          }
        }
        if (pending === null) {
          respond(reply, 'batch', { results, latency_ms: round3(elapsedMs(request, reply)) });
        } else {
          Promise.all(pending).then(
            () => respond(reply, 'batch', { results, latency_ms: round3(elapsedMs(request, reply)) }),
            (err: unknown) => reply.send(err),
          );
        }
      },
    );
  };
}
