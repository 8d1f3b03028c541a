/**
 * Typed errors. Every error featurestream raises on purpose is a {@link FeaturestreamError}
 * carrying a domain (whose fault it is), a retry hint and, where it applies, the field or
 * operator it concerns. The CLI maps domains to exit codes and the HTTP layer to status codes.
 *
 * @example
 * throw new ConfigError('sliding window `slide` must be > 0 and ≤ `size`, got 0', { field: 'window.slide' });
 */
export type ErrorDomain = 'user-input' | 'config' | 'external' | 'internal';

export interface ErrorDetails {
  /** The configuration field, CLI flag or event field the error is about. */
  readonly field?: string;
  /** The topology node or operator the error is about. */
  readonly operator?: string;
  /** Whether trying the same thing again may succeed (an outage), or never will (bad input). */
  readonly retryable?: boolean;
  readonly cause?: unknown;
}

export class FeaturestreamError extends Error {
  readonly domain: ErrorDomain;
  readonly field: string | undefined;
  readonly operator: string | undefined;
  readonly retryable: boolean;

  constructor(domain: ErrorDomain, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.domain = domain;
    this.field = details.field;
    this.operator = details.operator;
    this.retryable = details.retryable ?? false;
  }
}

/** Bad configuration, flags or topology: fails at start, exit code 2. */
export class ConfigError extends FeaturestreamError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('config', message, details);
  }
}

/** A topology graph that cannot run (cycle, unknown operator, missing input, key mismatch). */
export class TopologyError extends FeaturestreamError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('config', message, details);
  }
}

/** A failure of something outside the process (disk, Redis, PostgreSQL, Kafka). Usually retryable. */
export class ExternalError extends FeaturestreamError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('external', message, { retryable: true, ...details });
  }
}

/** A broken invariant: a bug in featurestream itself. */
export class InternalError extends FeaturestreamError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('internal', message, details);
  }
}

/**
 * A directory, store or port held by another live process (a second `run` on the same state dir,
 * a second `serve` on the same port). The CLI exits 3: wait for the holder or stop it.
 */
export class InUseError extends ExternalError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { retryable: true, ...details });
  }
}

/**
 * Input that cannot be read on (a gzip stream cut short or damaged, a directory given as a file).
 * What came before the damage has been processed and committed; the CLI exits 1.
 */
export class InputError extends FeaturestreamError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('user-input', message, details);
  }
}
