import type { DecodedEvent } from '../src/events/types.js';
import type { JsonValue } from '../topology/nodes.js';

/**
 * A record after the map stage: event time, string attributes (candidate keys) and numeric
 * fields in the order the map node declares. NaN encodes a missing number (SQL NULL).
 */
export interface ExtractedRecord {
  readonly ts: number;
  readonly attrs: Readonly<Record<string, string>>;
  readonly values: readonly number[];
}

/** A named predicate over decoded events, instantiated with the node's params. */
export interface FilterDef {
  readonly description: string;
  create(params: JsonValue | undefined): (event: DecodedEvent) => boolean;
}

/** A named extractor: the fields and attributes it produces, and its factory. */
export interface MapDef {
  readonly description: string;
  readonly fields: readonly string[];
  readonly attributes: readonly string[];
  create(params: JsonValue | undefined): (event: DecodedEvent) => ExtractedRecord | null;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** Predicates by name. */
export const FILTERS: ReadonlyMap<string, FilterDef> = new Map<string, FilterDef>([
  [
    'event-type',
    {
      description: 'keeps events whose `type` equals params.type',
      create(params) {
        const wanted = (params as { type?: unknown } | undefined)?.type;
        if (typeof wanted !== 'string') throw new TypeError('event-type filter needs params.type (a string)');
        return (e) => e.type === wanted;
      },
    },
  ],
]);

/** Extractors by name. */
export const MAPS: ReadonlyMap<string, MapDef> = new Map<string, MapDef>([
  [
    'perf-extract',
    {
      description:
        'performance_metrics → latency_ms, cost, input/output tokens, ok (error is null), err (error set), retries (metrics.retries, else 0), timeout (error mentions a timeout)',
      fields: ['latency_ms', 'cost', 'input_tokens', 'output_tokens', 'ok', 'err', 'retries', 'timeout'],
      attributes: ['model'],
      create() {
        return (e) => {
          const b = e.body;
          const error = b.error;
          const failed = typeof error === 'string';
          const metrics = b.metrics as Record<string, unknown> | undefined;
          const retries =
            metrics === undefined ? 0 : typeof metrics.retries === 'number' ? metrics.retries : 0;
          return {
            ts: e.ts,
            attrs: { model: b.model as string },
            values: [
              num(b.latency_ms),
              num(b.cost),
              num(b.input_tokens),
              num(b.output_tokens),
              failed ? 0 : 1,
              failed ? 1 : 0,
              retries,
              failed && /time.?out/i.test(error) ? 1 : 0,
            ],
          };
        };
      },
    },
  ],
]);

/** Decoding schemas by name. */
export const SCHEMAS: ReadonlySet<string> = new Set(['llm-events']);
