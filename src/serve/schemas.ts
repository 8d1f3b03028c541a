/**
 * JSON schemas of the serving API: request schemas are validated by fastify (ajv, with its
 * default type coercion: `version=2` becomes a number, a single `features` becomes a list), and
 * response schemas give fastify a compiled serializer (fast-json-stringify) for the hot routes.
 */

const featureList = {
  type: 'array',
  items: { type: 'string', maxLength: 4096 },
  minItems: 1,
  maxItems: 256,
} as const;
const version = { type: 'integer', minimum: 1, maximum: 2_147_483_647 } as const;
const at = { type: 'string', format: 'date-time' } as const;
const userId = { type: 'string', minLength: 1, maxLength: 512 } as const;

/** `GET /features/:entity_type/:entity_id` params. */
export const featuresParams = {
  type: 'object',
  required: ['entity_type', 'entity_id'],
  properties: {
    entity_type: { type: 'string', minLength: 1, maxLength: 64 },
    entity_id: { type: 'string', minLength: 1, maxLength: 512 },
  },
} as const;

/** `GET /features/:entity_type/:entity_id` querystring. */
export const featuresQuery = {
  type: 'object',
  required: ['features'],
  properties: { features: featureList, version, at, user_id: userId },
} as const;

/** `POST /features/batch` body; `maxItems` is set from `maxBatch`. */
export function batchBody(maxBatch: number) {
  return {
    type: 'object',
    required: ['requests'],
    properties: {
      requests: {
        type: 'array',
        minItems: 1,
        maxItems: maxBatch,
        items: {
          type: 'object',
          required: ['entity_type', 'entity_id', 'features'],
          properties: {
            entity_type: { type: 'string', minLength: 1, maxLength: 64 },
            entity_id: { type: 'string', minLength: 1, maxLength: 512 },
            features: featureList,
            version,
            at,
            user_id: userId,
          },
        },
      },
    },
  } as const;
}

const metadata = {
  type: 'object',
  properties: {
    computed_at: { type: ['string', 'null'] },
    // A number; an object { group: version } when the groups of one request were served at
    // different versions (rollouts configured differently per group).
    version: { type: ['integer', 'object'], additionalProperties: { type: 'integer' } },
    cache_hit: { type: 'boolean' },
    cache_tier: { type: 'string' },
    freshness_seconds: { type: ['number', 'null'] },
  },
} as const;

const features = { type: 'object', additionalProperties: { type: ['number', 'null'] } } as const;
/** Per value name: present, null_value or not_found (see ValueStatus in reading.ts). */
const statuses = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** 200 response of `GET /features/...`. */
export const featuresResponse = {
  type: 'object',
  properties: {
    entity_id: { type: 'string' },
    features,
    statuses,
    metadata,
    latency_ms: { type: 'number' },
  },
} as const;

/** 200 response of `POST /features/batch`. */
export const batchResponse = {
  type: 'object',
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          entity_type: { type: 'string' },
          entity_id: { type: 'string' },
          features,
          statuses,
          metadata,
        },
      },
    },
    latency_ms: { type: 'number' },
  },
} as const;
