import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { moduleExtension } from '../dist-path.js';
import { type LlmStreamOptions, type LlmStreamStats, writeLlmEvents } from './llm-stream.js';

/** The embedded default's sample stream and whether it was reused (see {@link defaultSample}). */
export interface DefaultSample {
  readonly stats: LlmStreamStats;
  readonly reused: boolean;
}

/** The modules whose code decides the sample's bytes, beside this one (compiled or sources). */
const GENERATOR_MODULES = ['./llm-stream', './ndjson-writer', './perf-stream', '../events/timestamp'];

/**
 * What decides a sample's bytes: the options and the generator's code (its modules' text); null
 * when a module's file cannot be read (then the sample is generated every time).
 */
function fingerprint(opts: LlmStreamOptions): string | null {
  const ext = moduleExtension(import.meta.url);
  const h = createHash('sha256').update(JSON.stringify(opts));
  try {
    for (const m of GENERATOR_MODULES)
      h.update(readFileSync(fileURLToPath(new URL(`${m}${ext}`, import.meta.url))));
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
 * the file is the one this generator wrote there with these options and nobody changed it since
 * (a stamp beside it, `<path>.stamp.json`, records the generator's fingerprint, the options, and
 * the file's size and modification time). The generator is deterministic, so a reused file holds
 * the bytes a new one would.
 *
 * @example
 * const { stats, reused } = await defaultSample('.featurestream/default/events.ndjson', { events: 20_000, seed: 42 });
 */
export async function defaultSample(path: string, opts: LlmStreamOptions): Promise<DefaultSample> {
  const stampPath = `${path}.stamp.json`;
  const print = fingerprint(opts);
  try {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as Stamp;
    const s = statSync(path);
    if (print !== null && stamp.fingerprint === print && stamp.size === s.size && stamp.mtimeMs === s.mtimeMs)
      return { stats: stamp.stats, reused: true };
  } catch {
    // No stamp, no file, or a stamp of another format: generate.
  }
  rmSync(stampPath, { force: true });
  const stats = await writeLlmEvents(path, opts);
  const s = statSync(path);
  if (print !== null) {
    const stamp: Stamp = { fingerprint: print, size: s.size, mtimeMs: s.mtimeMs, stats };
    writeFileSync(stampPath, `${JSON.stringify(stamp)}\n`);
  }
  return { stats, reused: false };
}
