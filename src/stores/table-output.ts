import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { ByteWriter, fileWriter, ParquetWriter, type SchemaElement, type Writer } from 'hyparquet-writer';
import { ConfigError, ExternalError } from '../shared/errors.js';
import { formatTimestamp } from '../shared/timestamp.js';
import type { OutputFormat } from './output-formats.js';

export { OUTPUT_FORMATS, type OutputFormat } from './output-formats.js';

/** One output column. `timestamp` values are ms since the epoch, written as RFC 3339 / TIMESTAMP. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: 'string' | 'int' | 'double' | 'timestamp';
}

/** A cell: a string, a number, or null (empty in CSV, null in NDJSON and Parquet). */
export type Cell = string | number | null;

/** Writes rows of cells, in column order, to a file or stdout. */
export interface TableWriter {
  write(rows: readonly (readonly Cell[])[]): Promise<void>;
  /** Finishes the output (Parquet footer); closes a file. */
  close(): Promise<void>;
}

/** Appends text to a file or stdout, honouring backpressure. */
export interface TextOutput {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A text output: `path` null writes to stdout (left open), else the file is created or truncated.
 *
 * @example
 * const out = openTextOutput('rows.ndjson');
 * await out.write('{"a":1}\n');
 * await out.close();
 */
export function openTextOutput(path: string | null): TextOutput {
  const stream: Writable = path === null ? process.stdout : createWriteStream(path);
  let failure: unknown = null;
  stream.on('error', (err: unknown) => {
    failure = err;
  });
  const check = () => {
    if (failure !== null) {
      throw new ExternalError(`cannot write ${path ?? 'stdout'}: ${String(failure)}`, {
        cause: failure,
        retryable: false,
      });
    }
  };
  return {
    async write(text) {
      check();
      if (!stream.write(text)) await new Promise<void>((r) => stream.once('drain', () => r()));
      check();
    },
    async close() {
      check();
      if (path === null) return;
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve());
      });
    },
  };
}

/**
 * A table writer in `format`:
 * - `csv`: a header line of column names, then RFC 4180 lines (fields quoted when they hold
 *   `,`, `"` or a line break), null as an empty field, times as RFC 3339 with milliseconds;
 * - `ndjson`: one JSON object per row, keys in column order, times as RFC 3339 strings;
 * - `parquet`: typed columns (UTF8 strings, INT32, DOUBLE, INT64 TIMESTAMP_MILLIS), all
 *   nullable, written in row groups of up to 50 000 rows (hyparquet-writer). To stdout the file is
 *   assembled in memory and written at `close()`.
 *
 * @example
 * const w = openTableWriter('csv', [{ name: 'entity_id', type: 'string' }, { name: 'n', type: 'double' }], null);
 * await w.write([['gpt-4', 3]]);
 * await w.close();
 */
export function openTableWriter(
  format: OutputFormat,
  columns: readonly ColumnSpec[],
  path: string | null,
): TableWriter {
  const names = new Set<string>();
  for (const c of columns) {
    if (names.has(c.name))
      throw new ConfigError(`output column \`${c.name}\` appears twice`, { field: 'columns' });
    names.add(c.name);
  }
  if (format === 'parquet') return parquetWriter(columns, path);
  const out = openTextOutput(path);
  if (format === 'csv') {
    let headerDone = false;
    return {
      async write(rows) {
        let text = headerDone ? '' : `${columns.map((c) => csvField(c.name)).join(',')}\n`;
        headerDone = true;
        for (const row of rows) {
          text += `${row.map((v, i) => csvField(cellText(v, columns[i]!))).join(',')}\n`;
        }
        await out.write(text);
      },
      async close() {
        if (!headerDone) await out.write(`${columns.map((c) => csvField(c.name)).join(',')}\n`);
        await out.close();
      },
    };
  }
  return {
    async write(rows) {
      let text = '';
      for (const row of rows) {
        const obj: Record<string, Cell> = {};
        row.forEach((v, i) => {
          const c = columns[i]!;
          obj[c.name] = c.type === 'timestamp' && v !== null ? formatTimestamp(Number(v)) : v;
        });
        text += `${JSON.stringify(obj)}\n`;
      }
      await out.write(text);
    },
    close: () => out.close(),
  };
}

function cellText(v: Cell, c: ColumnSpec): string {
  if (v === null) return '';
  if (c.type === 'timestamp') return formatTimestamp(Number(v));
  return String(v);
}

/** RFC 4180: quote fields holding a comma, a quote or a line break; double inner quotes. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const ROW_GROUP = 50_000;

function parquetWriter(columns: readonly ColumnSpec[], path: string | null): TableWriter {
  const schema: SchemaElement[] = [
    { name: 'root', num_children: columns.length },
    ...columns.map((c): SchemaElement => {
      switch (c.type) {
        case 'string':
          return { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };
        case 'int':
          return { name: c.name, type: 'INT32', repetition_type: 'OPTIONAL' };
        case 'double':
          return { name: c.name, type: 'DOUBLE', repetition_type: 'OPTIONAL' };
        default:
          // timestamp
          return {
            name: c.name,
            type: 'INT64',
            converted_type: 'TIMESTAMP_MILLIS',
            logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
            repetition_type: 'OPTIONAL',
          };
      }
    }),
  ];
  let writer: Writer;
  try {
    writer = path === null ? new ByteWriter() : fileWriter(path);
  } catch (err) {
    throw new ExternalError(`cannot write ${path}: ${String(err)}`, { cause: err, retryable: false });
  }
  const pw = new ParquetWriter({ writer, schema, createdBy: 'featurestream' });
  let buffer: Cell[][] = columns.map(() => []);
  let buffered = 0;
  const flushBuffer = async () => {
    if (buffered === 0) return;
    const columnData = columns.map((c, i) => ({
      name: c.name,
      data:
        c.type === 'timestamp'
          ? buffer[i]!.map((v) => (v === null ? null : new Date(Number(v))))
          : c.type === 'double'
            ? buffer[i]!.map((v) => (v === null ? null : Number(v)))
            : buffer[i]!,
    }));
    await pw.write({ columnData, rowGroupSize: ROW_GROUP });
    buffer = columns.map(() => []);
    buffered = 0;
  };
  return {
    async write(rows) {
      for (const row of rows) {
        for (let i = 0; i < columns.length; i++) buffer[i]!.push(row[i] ?? null);
        if (++buffered >= ROW_GROUP) await flushBuffer();
      }
    },
    async close() {
      await flushBuffer();
      await pw.finish();
      if (path === null) {
        const bytes = (writer as ByteWriter).getBytes();
        await new Promise<void>((resolve, reject) =>
          process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())),
        );
      }
    },
  };
}

/**
 * A one-line progress bar of rows on stderr, drawn only when stderr is a terminal (otherwise its
 * methods do nothing).
 *
 * @example
 * const bar = rowProgress('export', total);
 * bar.update(5_000);
 * bar.done();
 */
export function rowProgress(
  label: string,
  total: number | null,
): { update(done: number): void; done(): void } {
  if (!process.stderr.isTTY) return { update() {}, done() {} };
  const started = performance.now();
  let last = 0;
  const draw = (done: number) => {
    const secs = (performance.now() - started) / 1000;
    if (total === null || total <= 0) {
      process.stderr.write(`\r${label} ${done.toLocaleString('en-US')} rows  ${secs.toFixed(0)}s `);
      return;
    }
    const frac = Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(frac * width);
    const eta = frac > 0 ? (secs / frac) * (1 - frac) : 0;
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
        `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} rows  eta ${eta.toFixed(0)}s `,
    );
  };
  return {
    update(done) {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      draw(done);
    },
    done() {
      process.stderr.write('\n');
    },
  };
}
