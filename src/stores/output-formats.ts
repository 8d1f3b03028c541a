/**
 * The output formats of `export` and `training-set`, apart from their writers
 * (src/stores/table-output.ts) so that registering the `--format` flag loads no Parquet writer.
 */

/** Output formats of `export` and `training-set`. */
export type OutputFormat = 'ndjson' | 'csv' | 'parquet';

/** The formats, for CLI choices. */
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['ndjson', 'csv', 'parquet'];
