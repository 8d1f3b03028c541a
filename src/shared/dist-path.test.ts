import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { distDir, distFile, moduleExtension } from './dist-path.js';

describe('dist paths', () => {
  const root = join('/', 'srv', 'app');
  const url = (...p: string[]) => pathToFileURL(join(root, ...p)).href;

  it('is dist/ beside src/ for the sources, and the dist/ a compiled module sits in', () => {
    expect(distDir(url('src', 'stores', 'sql-client.ts'))).toBe(join(root, 'dist'));
    expect(distDir(url('dist', 'src', 'stores', 'sql-client.js'))).toBe(join(root, 'dist'));
    // A bundled chunk's import.meta.url is rewritten to its compiled module's.
    expect(distDir(url('dist', 'src', 'runtime', 'shard-pool.js'))).toBe(join(root, 'dist'));
    expect(distFile(url('src', 'ui', 'page.ts'), 'src', 'ui', 'app.js')).toBe(
      join(root, 'dist', 'src', 'ui', 'app.js'),
    );
    // A project under a folder named src: the innermost src/ is the module's.
    expect(distDir(pathToFileURL(join('/', 'src', 'app', 'src', 'x', 'y.ts')).href)).toBe(
      join('/', 'src', 'app', 'dist'),
    );
  });

  it('finds this build from this module (the sources under vitest)', () => {
    expect(moduleExtension(import.meta.url)).toBe('.ts');
    expect(moduleExtension(url('dist', 'src', 'x.js'))).toBe('.js');
    expect(existsSync(distFile(import.meta.url, 'src', 'shared', 'dist-path.js'))).toBe(true);
  });
});
