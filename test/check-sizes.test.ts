import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The size gate of `npm run lint` (scripts/check-sizes.mjs) on fixtures written here. */
const dir = mkdtempSync(join(tmpdir(), 'featurestream-sizes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const check = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['scripts/check-sizes.mjs', ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};
/** A function of `n` lines (its first and last line included). */
const fn = (name: string, n: number) =>
  `export function ${name}(): number {\n  let x = 0;\n${'  x++;\n'.repeat(n - 4)}  return x;\n}\n`;
const folder = (name: string, files: Record<string, string>) => {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
};

describe('check-sizes', () => {
  it('fails on a function over the limit, naming it and its length', () => {
    const d = folder('long-function', { 'a.ts': `${fn('small', 20)}${fn('oversize', 151)}` });
    const r = check(d);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/a\.ts:21: function oversize is 151 lines \(max 150\)/);
    expect(r.out).not.toMatch(/small/);
  });

  it('fails on a file over the limit, and measures methods and arrow functions too', () => {
    const method = `export class C {\n  run = () => {\n${'    void 0;\n'.repeat(40)}  };\n}\n`;
    const d = folder('long-file', { 'b.ts': `${method}${fn('f', 100).repeat(5)}` });
    const r = check('--max-function', '30', d);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/b\.ts: 544 lines \(max 500\)/);
    expect(r.out).toMatch(/function run is 42 lines \(max 30\)/);
  });

  it('passes within the limits, and leaves tests out', () => {
    const d = folder('fine', { 'c.ts': fn('ok', 150), 'c.test.ts': fn('huge', 900) });
    const r = check(d);
    expect(r.out).toMatch(/within 150 lines a function and 500 a file/);
    expect(r.status).toBe(0);
  });
});
