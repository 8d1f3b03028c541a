import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support.js';
import { defaultSample, generatorFiles } from './default-sample.js';

describe('defaultSample', () => {
  it('reuses the file it wrote with the same options, and generates again when either changed', async () => {
    const path = join(tempDir('fs-sample-'), 'events.ndjson');
    const a = await defaultSample(path, { events: 300, seed: 42 });
    expect(a.reused).toBe(false);
    const bytes = readFileSync(path);
    const b = await defaultSample(path, { events: 300, seed: 42 });
    expect(b.reused).toBe(true);
    expect(b.stats).toEqual(a.stats);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    // Other options: another stream.
    const c = await defaultSample(path, { events: 300, seed: 7 });
    expect(c.reused).toBe(false);
    expect(readFileSync(path).equals(bytes)).toBe(false);
    // Changed by hand since: written again as the generator makes it.
    appendFileSync(path, '{"edited":true}\n');
    const d = await defaultSample(path, { events: 300, seed: 7 });
    expect(d.reused).toBe(false);
    expect(readFileSync(path, 'utf8')).not.toContain('"edited"');
    expect(d.stats).toEqual(c.stats);
  });

  it('fingerprints every module the generator imports, transitively', () => {
    const files = generatorFiles().map((f) =>
      f
        .split(/[\\/]src[\\/]/)
        .at(-1)!
        .replace(/\.[jt]s$/, ''),
    );
    // llm-stream's own runtime imports (the seeded random and the NDJSON writer are shared
    // utilities now; type-only imports do not change what it writes).
    for (const m of [
      'domains/llm/generate/llm-stream',
      'shared/ndjson-writer',
      'shared/random',
      'shared/timestamp',
      'shared/errors',
    ])
      expect(files).toContain(m);
    // Nothing outside what those modules import (e.g. not this module, not the CLI).
    expect(files).not.toContain('domains/llm/generate/default-sample');
    expect(files).not.toContain('cli/index');
  });
});
