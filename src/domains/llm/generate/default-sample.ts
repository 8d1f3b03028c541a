import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { moduleExtension } from '../../../shared/dist-path.js';
import { type LlmStreamOptions, type LlmStreamStats, writeLlmEvents } from './llm-stream.js';
import { type StreamShift, writeShiftedLlmEvents } from './shift.js';

/** The embedded default's sample stream and whether it was reused (see {@link defaultSample}). */
export interface DefaultSample {
  readonly stats: LlmStreamStats;
  readonly reused: boolean;
}

/** A relative value import or re-export of a module (not `import type`), compiled or source. */
const RELATIVE_IMPORT = /^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)\.js['"]/gm;

/**
 * The files whose code decides the sample's bytes: the generator's module and every module it
 * imports, transitively (compiled beside this one, or the sources when tests run them). Derived
 * from the import statements, so a module the generator comes to use is covered without a list
 * to keep.
 */
export function generatorFiles(): string[] {
  const ext = moduleExtension(import.meta.url);
  const seen = new Set<string>();
  const visit = (url: URL): void => {
    const path = fileURLToPath(url);
    if (seen.has(path)) return;
    seen.add(path);
    for (const m of readFileSync(path, 'utf8').matchAll(RELATIVE_IMPORT))
      visit(new URL(`${m[1]}${ext}`, url));
  };
  visit(new URL(`./llm-stream${ext}`, import.meta.url));
  visit(new URL(`./shift${ext}`, import.meta.url));
  return [...seen].sort();
}

/**
 * What decides a sample's bytes: the options and the generator's code (its modules' text); null
 * when a module's file cannot be read (then the sample is generated every time).
 */
function fingerprint(opts: LlmStreamOptions & { readonly shift?: StreamShift }): string | null {
  const h = createHash('sha256').update(JSON.stringify(opts));
  try {
    for (const file of generatorFiles()) h.update(readFileSync(file));
  } catch {
    return null;
  }
  return h.digest('hex');
}

interface Stamp {
  readonly fingerprint: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly stats: LlmStreamStats;
}

/**
 * The embedded default's sample stream at `path`: generated (~1 s for 20,000 events here) unless
 * the file is the one this generator wrote there with these options (and `shift`, when given: the
 * stream with one known shift, shift.ts) and nobody changed it since
 * (a stamp beside it, `<path>.stamp.json`, records the generator's fingerprint, the options, and
 * the file's size and modification time). The generator is deterministic, so a reused file holds
 * the bytes a new one would.
 *
 * @example
 * const { stats, reused } = await defaultSample('.featurestream/default/events.ndjson', { events: 20_000, seed: 42 });
 * // With one known shift (`featurestream run --shift gpt-4o:latency:3`): see shift.ts.
 */
export async function defaultSample(
  path: string,
  opts: LlmStreamOptions,
  shift?: StreamShift,
): Promise<DefaultSample> {
  const stampPath = `${path}.stamp.json`;
  const print = fingerprint(shift === undefined ? opts : { ...opts, shift });
  try {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as Stamp;
    const s = statSync(path);
    if (print !== null && stamp.fingerprint === print && stamp.size === s.size && stamp.mtimeMs === s.mtimeMs)
      return { stats: stamp.stats, reused: true };
  } catch {
    // No stamp, no file, or a stamp of another format: generate.
  }
  rmSync(stampPath, { force: true });
  const stats =
    shift === undefined ? await writeLlmEvents(path, opts) : await writeShiftedLlmEvents(path, opts, shift);
  const s = statSync(path);
  if (print !== null) {
    const stamp: Stamp = { fingerprint: print, size: s.size, mtimeMs: s.mtimeMs, stats };
    writeFileSync(stampPath, `${JSON.stringify(stamp)}\n`);
  }
  return { stats, reused: false };
}
