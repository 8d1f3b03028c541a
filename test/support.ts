import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repo root. */
export const ROOT = new URL('../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/featurestream.js');

export function tempDir(prefix = 'fs-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `featurestream ARGS` from the build (the same entry `npx featurestream` runs). */
export function startCli(args: readonly string[], cwd = ROOT): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return Object.assign(child, { result });
}

export function runCli(args: readonly string[], cwd = ROOT): Promise<CliResult> {
  return startCli(args, cwd).result;
}

/** The JSON summary line printed with --summary-json. */
export function summaryOf(r: CliResult): Record<string, unknown> & {
  eventsRead: number;
  deadLetters: number;
  deadLettersByReason: Record<string, number>;
  lateEvents: number;
  lateByWindow: Record<string, number>;
  rowsWritten: number;
} {
  const line = r.stdout.trim().split('\n').at(-1);
  if (line === undefined) throw new Error(`no summary; stderr: ${r.stderr}`);
  return JSON.parse(line);
}

/** Non-empty lines of an NDJSON file. */
export function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A feature row of a rows file, as the tests read it. */
export interface RowLine {
  group: string;
  entity_id: string;
  event_time: string;
  revision: number;
  values: Record<string, number>;
}

/**
 * The newest row (latest event time, then revision) of a group's first entity in a rows file:
 * what the online store holds for that entity.
 */
export function newestRowOfFirstEntity(path: string, group: string): RowLine {
  const rows = lines(path)
    .map((l) => JSON.parse(l) as RowLine)
    .filter((r) => r.group === group);
  const entity = rows[0]!.entity_id;
  return rows
    .filter((r) => r.entity_id === entity)
    .sort((a, b) => a.event_time.localeCompare(b.event_time) || a.revision - b.revision)
    .at(-1)!;
}
