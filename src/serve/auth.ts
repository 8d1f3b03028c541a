/**
 * Bearer-token authentication of the serving routes: an `onRequest` hook answering 401 with
 * `WWW-Authenticate` when the `Authorization` header is missing or wrong (compared in constant
 * time).
 *
 * @example
 * if (token !== undefined) scope.addHook('onRequest', bearerAuth(token, metrics));
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-mapping.js';
import type { ServeMetrics } from './metrics.js';
import { elapsedMs } from './timing.js';

/** Whether an `Authorization` header value carries the token. */
export function bearerMatches(expected: Buffer, got: string | undefined): boolean {
  if (got === undefined) return false;
  const buf = Buffer.from(got);
  return buf.length === expected.length && timingSafeEqual(buf, expected);
}

/** The `onRequest` hook requiring `Authorization: Bearer <token>`. */
export function bearerAuth(token: string, metrics: ServeMetrics) {
  const expected = Buffer.from(`Bearer ${token}`);
  return (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const got = request.headers.authorization;
    if (bearerMatches(expected, got)) {
      done();
      return;
    }
    reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="featurestream"')
      .send(
        errorBody(
          'unauthorized',
          got === undefined
            ? 'missing bearer token: send "Authorization: Bearer <token>"'
            : 'invalid bearer token',
        ),
      );
    const config = request.routeOptions.config as { metricsRoute?: string; selfMetrics?: boolean };
    if (config.selfMetrics === true) {
      metrics.response(config.metricsRoute!, 401, elapsedMs(request, reply));
    }
  };
}
