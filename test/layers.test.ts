/**
 * The layer rules of `npm run lint` (dependency-cruiser, .dependency-cruiser.cjs) hold for the
 * repository, and they fail on an engine file that imports a domain (a probe file written for the
 * check and removed after it).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support.js';

const depcruise = (...paths: string[]) =>
  spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
      ...paths,
      '--config',
      '.dependency-cruiser.cjs',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );

describe('layers', () => {
  it('the engine, shared code and domains keep their rules, with no import cycles', () => {
    const r = depcruise('topology', 'operators', 'state', 'src');
    expect(r.stdout).not.toMatch(
      /error (engine-knows-no-domain|platform-knows-no-domain|shared-imports-only-shared|domains-do-not-wire|no-circular)/,
    );
    expect(r.status).toBe(0);
  });

  it('an engine file that imports a domain fails the check, naming the rule', () => {
    const probe = join(ROOT, 'operators', `layer-probe-${randomUUID().slice(0, 8)}.ts`);
    writeFileSync(
      probe,
      "import { llmPlugin } from '../src/domains/llm/plugin.js';\nexport const p = llmPlugin;\n",
    );
    try {
      const r = depcruise(probe.slice(ROOT.length));
      expect(r.status).not.toBe(0);
      expect(r.stdout).toMatch(
        /error engine-knows-no-domain: operators\/layer-probe-\w+\.ts → src\/domains\/llm\/plugin\.ts/,
      );
    } finally {
      rmSync(probe, { force: true });
    }
  });
});
