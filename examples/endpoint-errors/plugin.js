/**
 * The plugin of the endpoint-errors example: user functions a topology file uses by name.
 * A plugin is an ES module whose default export lists filters, maps, aggregations and keyed
 * processors (see docs/topology-files.md). It imports nothing from featurestream.
 */

/** `api_call` events that carry an HTTP status (optionally only some methods). */
const httpCalls = {
  description: 'api_call events with a status; params.methods limits the HTTP methods',
  create(params) {
    const methods = params?.methods;
    if (methods !== undefined && !(Array.isArray(methods) && methods.every((m) => typeof m === 'string'))) {
      throw new TypeError('params.methods must be an array of HTTP methods');
    }
    const keep = methods === undefined ? null : new Set(methods);
    return (e) =>
      e.type === 'api_call' &&
      typeof e.body.status === 'number' &&
      (keep === null || keep.has(e.body.method));
  },
};

/** api_call → the endpoint (method and path template) and its status as numbers. */
const endpointExtract = {
  description: 'api_call → endpoint "METHOD /path"; status, is_error (5xx), is_client_error (4xx)',
  fields: ['status', 'is_error', 'is_client_error'],
  attributes: ['endpoint', 'tenant'],
  create: () => (e) => {
    const status = e.body.status;
    return {
      attrs: { endpoint: `${e.body.method} ${e.body.path}`, tenant: e.body.tenant ?? '' },
      values: { status, is_error: status >= 500, is_client_error: status >= 400 && status < 500 },
    };
  },
};

/** Share of the values ≥ params.min: a mergeable accumulator [at least min, all]. */
const shareAtLeast = {
  description: 'share of the non-null values ≥ params.min',
  validate(params) {
    if (typeof params?.min !== 'number') throw new TypeError('params.min must be a number');
  },
  create(params) {
    const min = params.min;
    return {
      init: () => [0, 0],
      add: (acc, value) => [acc[0] + (value >= min ? 1 : 0), acc[1] + 1],
      merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
      result: (acc) => (acc[1] === 0 ? null : acc[0] / acc[1]),
    };
  },
};

/** Per key (endpoint): how many 5xx answers in a row, as of each call. State: the streak. */
const errorStreak = {
  description: 'consecutive 5xx answers of the key as of each call (keyed state)',
  requiresFields: ['is_error'],
  create: () => ({
    onRecord(state, record, emit) {
      const streak = record.field('is_error') === 1 ? (state ?? 0) + 1 : 0;
      emit({ consecutive_errors: streak });
      return streak;
    },
  }),
};

export default {
  name: 'endpoint-errors',
  filters: { 'http-calls': httpCalls },
  maps: { 'endpoint-extract': endpointExtract },
  aggregations: { 'share-at-least': shareAtLeast },
  processors: { 'error-streak': errorStreak },
};
