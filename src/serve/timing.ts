/**
 * Server-side request timing: the HTTP server stamps each request when Node hands it over
 * (headers parsed), so routes time themselves without a per-request hook.
 *
 * @example
 * (req as StampedRequest)[STARTED] = performance.now();
 * metrics.response('features', 200, elapsedMs(request, reply));
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The stamp's property on the raw request. */
export const STARTED = Symbol('featurestream.started');

/** A raw request with its arrival stamp (performance.now()). */
export type StampedRequest = IncomingMessage & { [STARTED]?: number };

/**
 * ms since the request was handed over by Node (headers parsed; stamped by the server factory;
 * injected requests, which bypass it, are stamped on entering the handler), else fastify's own
 * measure.
 */
export function elapsedMs(request: FastifyRequest, reply: FastifyReply): number {
  const started = (request.raw as StampedRequest)[STARTED];
  return started === undefined ? reply.elapsedTime : performance.now() - started;
}

/** Rounds to 3 decimals (latencies in ms, freshness in s). */
export const round3 = (x: number): number => Math.round(x * 1000) / 1000;
