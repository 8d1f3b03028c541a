/**
 * The operator library's public entry: what a domain or a user's plugin may build on — the
 * plugin API (`plugins.ts`, also the package export `featurestream/plugin`), the operator
 * lifecycle and its record batches, the keyed-processor and window operators to extend or
 * compose, aggregations, watermarks, the function table, event schemas, providers, keyed state
 * tables and the NDJSON line reader. Domains import the engine only through this module and
 * `topology/index.ts` (a lint rule keeps it so).
 */
export * from './aggregation.js';
export * from './event-time-sort.js';
export * from './functions.js';
export * from './keyed-process-base.js';
export * from './operator.js';
export * from './plugins.js';
export * from './providers.js';
export * from './schemas.js';
export * from './session-window.js';
export * from './sliding-window.js';
export * from './watermark.js';
export * from './window-operator.js';
export { KeyedStateTable } from '../state/keyed-state-table.js';
export * from '../state/state-tables.js';
export { WATERMARK_CODEC } from './keyed-operator-base.js';
export { TableOperator } from './table-operator.js';
export { readLines } from '../src/connectors/file-source.js';
