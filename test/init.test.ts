/**
 * `featurestream init DIR` writes a starter project whose README commands run as written, in the
 * project's directory: a run of its own schema, topology and events (one dead letter), its
 * feature list, a run into the embedded stores, and `serve`, which answers the project's
 * features with their statuses.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docCommands } from './doc-commands.js';
import { runCli, startCli, tempDir } from './support.js';

/** Splits a README command into argv (its commands have no quoting). */
const argv = (text: string) => text.split(/\s+/).filter((w) => w !== '');

describe('featurestream init', () => {
  it('writes a project whose README commands run as written', async () => {
    const base = tempDir('fs-init-');
    const r = await runCli(['init', 'orders'], base);
    expect(r.code, r.stderr).toBe(0);
    const dir = join(base, 'orders');
    for (const f of ['schema.json', 'plugin.js', 'topology.yaml', 'events.ndjson', 'README.md'])
      expect(existsSync(join(dir, f)), f).toBe(true);
    expect(r.stdout).toMatch(/npx featurestream run --topology topology.yaml --plugin plugin.js/);

    const commands = docCommands(join(dir, 'README.md'));
    expect(commands.map((c) => argv(c.text)[0])).toEqual(['run', 'features', 'run', 'serve']);
    for (const c of commands.filter((x) => argv(x.text)[0] !== 'serve')) {
      const ran = await runCli(argv(c.text), dir);
      expect(ran.code, `${c.text}\n${ran.stderr}`).toBe(0);
    }
    // The first run: rows of the project's group, and its one malformed event as a dead letter.
    const rows = readFileSync(join(dir, 'rows.ndjson'), 'utf8').trim().split('\n');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((l) => (JSON.parse(l) as { group: string }).group === 'user_1hr')).toBe(true);
    const dead = readFileSync(join(dir, 'dead.ndjson'), 'utf8').trim().split('\n');
    expect(dead.map((l) => (JSON.parse(l) as { reason: string }).reason)).toEqual(['missing_field']);

    // serve, as the README says (on a free port), answers the project's features.
    const serve = commands.find((c) => argv(c.text)[0] === 'serve')!;
    const child = startCli([...argv(serve.text), '--port', '0'], dir);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('close', (code) => reject(new Error(`serve exited ${code}`)));
    });
    try {
      const res = await fetch(`${address}/features/user/u-1?features=orders_1hr,order_value_1hr`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        features: Record<string, number>;
        statuses: Record<string, string>;
      };
      expect(body.features.orders_1hr).toBeGreaterThan(0);
      expect(body.statuses).toEqual({ orders_1hr: 'present', order_value_1hr: 'present' });
      const unknown = (await (await fetch(`${address}/features/user/nobody?features=orders_1hr`)).json()) as {
        statuses: Record<string, string>;
      };
      expect(unknown.statuses).toEqual({ orders_1hr: 'not_found' });
    } finally {
      child.kill('SIGTERM');
    }
    expect((await child.result).code).toBe(0);
  }, 300_000);

  it('refuses a directory that is not empty (exit 2, naming it)', async () => {
    const base = tempDir('fs-init-');
    mkdirSync(join(base, 'taken'));
    writeFileSync(join(base, 'taken', 'x'), 'x');
    const r = await runCli(['init', 'taken'], base);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^featurestream: init: \S+taken exists and is not empty/);
  });
});
