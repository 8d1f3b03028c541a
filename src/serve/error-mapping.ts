/**
 * Error mapping of the serving API: any error thrown while handling a request (ours, fastify's
 * validation and body-parsing errors, a store failure) becomes a status, an {@link ErrorCode} and
 * a message naming the offending parameter, in the body `{ "error": { "code", "message" } }`.
 *
 * @example
 * const e = toRequestError(error, request);
 * reply.code(e.status).send(e.body());
 */
import type { FastifyError, FastifyRequest } from 'fastify';
import { FeaturestreamError } from '../shared/errors.js';
import { type ErrorCode, RequestError } from './errors.js';

/** The body of an error response. */
export function errorBody(code: ErrorCode, message: string) {
  return { error: { code, message } };
}

/** Maps any error thrown while handling a request to the API's status, code and message. */
export function toRequestError(error: FastifyError, request: FastifyRequest): RequestError {
  if (error instanceof RequestError) return error;
  if (error.validation !== undefined && error.validation.length > 0) {
    return validationError(error, request);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RequestError(400, 'malformed_json', `malformed JSON body: ${error.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RequestError(413, 'payload_too_large', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RequestError(
        415,
        'unsupported_media_type',
        `${error.message}; send Content-Type: application/json`,
      );
  }
  if (error instanceof SyntaxError) {
    return new RequestError(400, 'malformed_json', `malformed JSON body: ${error.message}`);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new RequestError(status, 'bad_request', error.message);
  if (error instanceof FeaturestreamError && error.domain === 'external') {
    return new RequestError(503, 'store_unavailable', error.message, undefined, error);
  }
  return new RequestError(500, 'internal', 'internal error');
}

function validationError(error: FastifyError, request: FastifyRequest): RequestError {
  const first = error.validation![0]!;
  const context = error.validationContext ?? 'request';
  const segments = first.instancePath.split('/').filter((s) => s !== '');
  const missing =
    first.keyword === 'required' ? (first.params as { missingProperty?: string }).missingProperty : undefined;
  if (missing !== undefined) segments.push(missing);
  const field = segments.reduce(
    (acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc === '' ? s : `${acc}.${s}`),
    '',
  );
  const prop = segments[segments.length - 1] ?? '';
  const where = field === '' ? context : field;
  let raw = '';
  if (context === 'querystring' && segments.length === 1) {
    const v = (request.query as Record<string, unknown> | undefined)?.[prop];
    if (v !== undefined) raw = `, got "${String(v)}"`;
  }
  if (missing !== undefined) {
    if (prop === 'features') {
      return new RequestError(
        400,
        'missing_features',
        `${where} is required: list feature ids or names, e.g. features=PERF_001,latency_p95_5min`,
        field,
      );
    }
    return new RequestError(400, 'bad_request', `${where} is required`, field);
  }
  switch (prop) {
    case 'features':
      return new RequestError(
        400,
        'missing_features',
        `${where}: list 1 to 256 feature ids or names (${first.message ?? 'invalid'})`,
        field,
      );
    case 'version':
      return new RequestError(400, 'bad_version', `${where} must be a positive integer${raw}`, field);
    case 'at':
      return new RequestError(
        400,
        'bad_at',
        `${where} must be an RFC 3339 timestamp such as 2025-01-15T10:05:00Z${raw}`,
        field,
      );
    case 'requests':
      if (first.keyword === 'maxItems') {
        const limit = (first.params as { limit?: number }).limit;
        return new RequestError(
          413,
          'batch_too_large',
          `requests: a batch holds at most ${limit} requests; split it`,
          field,
        );
      }
      break;
    case 'entity_type':
      return new RequestError(400, 'unknown_entity_type', `${where}: ${first.message ?? 'invalid'}`, field);
  }
  return new RequestError(400, 'bad_request', `${where}: ${first.message ?? 'invalid'}${raw}`, field);
}
