/**
 * The operator library's public entry: what a domain or a user's plugin may build on — the
 * plugin API (`plugins.ts`, also the package export `featurestream/plugin`), the operator
 * lifecycle and its record batches, the keyed-processor and window operators to extend or
 * compose, aggregations, watermarks, the function table, event schemas, providers, keyed state
 * tables and the NDJSON line reader. Domains import the engine only through this module and
 * `topology/index.ts` (a lint rule keeps it so). Each name is listed: anything else in
 * `operators/` and `state/` is the engine's own and may change.
 */
export { compileAggregation } from './aggregation.js';
export { MAPS, type MapContext, type MapFn } from './functions.js';
export { KeyedProcessBase } from './keyed-process-base.js';
export type { Emitter, FeatureRow, RecordBatch, StateTableSpec } from './operator.js';
export { definePlugin, type PluginEvent, type PluginRecord, registerPlugin } from './plugins.js';
export type { ProviderInstance } from './providers.js';
export { type DecodedEvent, REASON_CODES, type ReasonCode, schemaDecoder } from './schemas.js';
export { watermarkFor } from './watermark.js';
export { createWindowOperator, type WindowOperator } from './window-operator.js';
export { KeyedStateTable } from '../state/keyed-state-table.js';
export {
  keyedTable,
  OperatorTables,
  scopeTables,
  type TableCodec,
  ValueTable,
  valueTable,
  withStep,
} from '../state/state-tables.js';
export { WATERMARK_CODEC } from './keyed-operator-base.js';
export { TableOperator } from './table-operator.js';
export { readLines } from '../src/connectors/file-source.js';
