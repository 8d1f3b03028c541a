/**
 * The bundled build (`scripts/bundle.mjs`, dist/bundle) that `bin/featurestream.js` and the
 * worker pool load when it exists: its modules find their files through `import.meta.url`
 * rewritten to their compiled files' URLs, and it behaves as the compiled modules of dist/src do.
 * Every CLI test runs the bundle; this one checks what they would only show indirectly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support.js';

const BUNDLE = join(ROOT, 'dist/bundle');
const dir = mkdtempSync(join(tmpdir(), 'fs-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = (entry: string, args: readonly string[]) =>
  execFileSync(process.execPath, [entry, ...args], { cwd: ROOT, encoding: 'utf8' });

describe('the bundled build', () => {
  it('rewrites every import.meta.url to a compiled file that exists', () => {
    const files = readdirSync(BUNDLE).filter((f) => f.endsWith('.js'));
    expect(files).toEqual(expect.arrayContaining(['cli.js', 'shard-worker.js']));
    let rewritten = 0;
    for (const f of files) {
      const text = readFileSync(join(BUNDLE, f), 'utf8');
      const all = text.split('import.meta.url').length - 1;
      const targets = [...text.matchAll(/new URL\("([^"]+)", import\.meta\.url\)/g)].map((m) => m[1]!);
      // No bare import.meta.url: it would point into dist/bundle, where no asset lives.
      expect(targets.length, `${f}: every import.meta.url is rewritten`).toBe(all);
      for (const t of targets) {
        const file = fileURLToPath(new URL(t, pathToFileURL(join(BUNDLE, f))));
        expect(existsSync(file), `${f} → ${t}`).toBe(true);
        rewritten++;
      }
    }
    expect(rewritten).toBeGreaterThan(0);
  });

  it('gives what the compiled modules give: the feature list, and the rows of a run', () => {
    const bundled = join(BUNDLE, 'cli.js');
    const compiled = join(ROOT, 'dist/src/cli/index.js');
    expect(node(bundled, ['features', 'list', '--json'])).toBe(
      node(compiled, ['features', 'list', '--json']),
    );
    const input = join(dir, 'events.ndjson');
    node(compiled, ['generate', '--events', '2000', '--seed', '11', '--out', input]);
    const rows = (entry: string, name: string) => {
      const out = join(dir, `${name}.ndjson`);
      const where = ['--out', out, '--state-dir', join(dir, name), '--fresh'];
      node(entry, ['run', '--topology', 'llm-features', '--input', input, ...where]);
      return readFileSync(out, 'utf8').split('\n').filter(Boolean).sort();
    };
    const a = rows(bundled, 'bundled');
    expect(a.length).toBeGreaterThan(100);
    expect(a).toEqual(rows(compiled, 'compiled'));
  }, 120_000);
});
