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
import { BatchBody, L1Item } from '../batch-body.js';
import { type BatchItem, batchItem, FeatureReads, type FeaturesQuery, single } from '../reading.js';
import { batchBody, batchResponse, featuresParams, featuresQuery, featuresResponse } from '../schemas.js';
import { elapsedMs, round3, STARTED, type StampedRequest } from '../timing.js';
import type { RouteContext } from './context.js';

/** The content type of every JSON answer, as fastify sets it for an object. */
const JSON_TYPE = 'application/json; charset=utf-8';

/** The serving routes as a fastify plugin. */
export function featureRoutes(ctx: RouteContext) {
  const { resolver, reads, metrics, maxBatch } = ctx;
  /** The batch route's body writer, made on its first answer (null: serialize whole). */
  let writer: BatchBody | null | undefined;

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
        if (writer === undefined) {
          const serialize = reply.getSerializationFunction('200') as ((b: unknown) => string) | undefined;
          try {
            writer = serialize === undefined || ctx.opts.fastPath === false ? null : new BatchBody(serialize);
          } catch {
            writer = null; // serialized whole, as any route is
          }
        }
        const items = request.body.requests;
        // Validate every item before reading anything, so a bad item fails the batch cleanly.
        const plans = items.map((it, i) => {
          const plan = resolver.resolve(it.features, it.entity_type, `requests[${i}].features`);
          return { plan, atMs: reads.parseAt(it.at, `requests[${i}].at`) };
        });
        // Each item as its serialized part (single-group L1 hits from their templates, see
        // batch-body.ts), or as a result object to serialize (after an L2/L3 read, or several groups).
        const parts = new Array<L1Item | string | unknown>(items.length);
        let pending: Promise<unknown>[] | null = null;
        for (let i = 0; i < items.length; i++) {
          const it = items[i]!;
          const { plan, atMs } = plans[i]!;
          if (writer !== null && writer !== undefined && atMs === null && plan.groups.length === 1) {
            const g = plan.groups[0]!;
            const v = FeatureReads.versionOf(g, it.version, it.user_id);
            const hit = reads.peekL1(it.entity_type, it.entity_id, g, v);
            const part = hit === undefined ? null : writer.l1Item(it, plan, hit, v);
            if (part !== null) {
              metrics.cacheLookup('l1', true);
              parts[i] = part;
              continue;
            }
          }
          const out = reads.serve(it.entity_type, it.entity_id, plan, it.version, it.user_id, atMs);
          if (out instanceof Promise) {
            if (pending === null) pending = [];
            pending.push(
              out.then((s) => {
                parts[i] = batchItem(it, s);
              }),
            );
          } else {
            parts[i] = batchItem(it, out);
          }
        }
        const send = () => {
          const latency = round3(elapsedMs(request, reply));
          const b = writer;
          if (b === null || b === undefined) {
            respond(reply, 'batch', { results: parts, latency_ms: latency });
            return;
          }
          const all = parts.map((p) => (p instanceof L1Item ? p : b.item(p)));
          reply.type(JSON_TYPE).send(b.body(all, Date.now(), latency));
          metrics.response('batch', 200, elapsedMs(request, reply));
        };
        if (pending === null) send();
        else Promise.all(pending).then(send, (err: unknown) => reply.send(err));
      },
    );
  };
}
