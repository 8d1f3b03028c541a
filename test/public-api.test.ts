/**
 * The public plugin API is the package's export `featurestream/plugin` (package.json `exports`):
 * a module outside the repository's sources imports it by name, with its type declarations, and
 * registers a schema, a map and a topology through it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support.js';

describe('featurestream/plugin', () => {
  it('resolves by package name to the build, with type declarations', () => {
    const script = `
      const api = await import('featurestream/plugin');
      const plugin = api.definePlugin({
        name: 'probe',
        schemas: { probe: { jsonSchema: { type: 'object', required: ['at'] }, eventTime: 'at' } },
        maps: { 'probe-map': { fields: ['x'], attributes: ['k'], create: () => (e) => ({ attrs: { k: 'a' }, values: { x: 1 } }) } },
      });
      api.registerPlugin(plugin);
      const { schemaDecoder } = api;
      console.log(JSON.stringify({ fns: [typeof api.registerPlugin, typeof api.loadPlugins], decoded: schemaDecoder('probe')('{"at":"2026-01-01T00:00:00Z"}') }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as {
      fns: string[];
      decoded: { ok: boolean; event: { ts: number; type: string } };
    };
    expect(out.fns).toEqual(['function', 'function']);
    expect(out.decoded.ok).toBe(true);
    expect(out.decoded.event).toMatchObject({ ts: Date.parse('2026-01-01T00:00:00Z'), type: 'probe' });
    expect(existsSync(join(ROOT, 'dist/operators/plugins.d.ts'))).toBe(true);
  });
});
