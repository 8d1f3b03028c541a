/**
 * The serving API's request errors: every bad request is answered with a 4xx and the JSON body
 * `{ "error": { "code", "message" } }`, where `code` is one of {@link ErrorCode} and `message`
 * names the offending parameter or value.
 *
 * @example
 * throw new RequestError(400, 'unknown_feature', 'features: unknown feature "PERF_999"', 'features');
 */
import { FeaturestreamError } from '../shared/errors.js';

/** Machine-readable error codes of the serving API. */
export type ErrorCode =
  | 'bad_request'
  | 'missing_features'
  | 'unknown_feature'
  | 'unknown_entity_type'
  | 'entity_type_mismatch'
  | 'malformed_json'
  | 'batch_too_large'
  | 'bad_at'
  | 'bad_version'
  | 'point_in_time_unavailable'
  | 'unauthorized'
  | 'not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'store_unavailable'
  | 'internal';

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

/**
 * A request the server refuses, with its HTTP status and {@link ErrorCode}. A user-input error
 * (4xx) unless the status is 5xx, in which case it is an external failure (a store down).
 *
 * @example
 * throw new RequestError(400, 'bad_version', 'version must be a positive integer, got "0"', 'version');
 */
export class RequestError extends FeaturestreamError {
  readonly status: number;
  readonly code: ErrorCode;

  constructor(status: number, code: ErrorCode, message: string, field?: string, cause?: unknown) {
    super(status >= 500 ? 'external' : 'user-input', message, {
      ...(field === undefined ? {} : { field }),
      ...(cause === undefined ? {} : { cause }),
      retryable: status >= 500,
    });
    this.status = status;
    this.code = code;
  }

  /** The response body. */
  body(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}
