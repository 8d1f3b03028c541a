/**
 * The commands of the docs work as written (issue 29): every `featurestream …` and
 * `npx featurestream …` command of a fenced `sh` block in README.md and docs/*.md runs, in
 * document order (README.md, docs/getting-started.md, then the other docs by name), in one
 * working directory that has the checkout's `docs/` and `examples/` in it, and exits 0.
 *
 * - `serve` and `ui` run in the background until they print their address, with `--port 0`
 *   added (the OS picks a free port; the rest of the command is as written). They stay up, as a
 *   reader would leave them, until a command that replaces or migrates the embedded stores
 *   (`run`, `db`) or the end of the file; then Ctrl-C (SIGINT) stops them, and they must exit 0.
 *   So the reads of getting-started.md's sections 4 and 5, and section 6's `replay` (written
 *   through the server's push path) and `diff`, run while `serve` holds the stores.
 * - A command with a placeholder (`…`, `...`), one that needs Kafka, or one whose store URL is
 *   not on loopback runs only as `COMMAND --help`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docCommands } from './doc-commands.js';
import { BIN, ROOT, tempDir } from './support.js';

/** The files, in the order a reader goes through them. */
const FILES = [
  'README.md',
  'docs/getting-started.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md') && f !== 'getting-started.md')
    .sort()
    .map((f) => `docs/${f}`),
].filter((f) => (process.env.FS_DOCS_FILES ?? f).split(',').includes(f)); // FS_DOCS_FILES: a few, to iterate

const cwd = tempDir('fs-docs-');
symlinkSync(join(ROOT, 'docs'), join(cwd, 'docs'));
symlinkSync(join(ROOT, 'examples'), join(cwd, 'examples'));
// `featurestream` on the PATH is the build's entry, as `npx featurestream` runs it in the checkout.
const binDir = join(cwd, '.bin');
mkdirSync(binDir);
writeFileSync(join(binDir, 'featurestream'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
chmodSync(join(binDir, 'featurestream'), 0o755);
const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` };

const words = (text: string) => text.split(/\s+/).filter((w) => w !== '');
/** The subcommand words: those before the first flag. */
const subcommand = (text: string) => {
  const ws = words(text);
  const i = ws.findIndex((w) => w.startsWith('-') || w === '>' || w === '|');
  return i < 0 ? ws : ws.slice(0, i);
};
const LONG_RUNNING = new Set(['serve', 'ui']);
/** Commands that replace or migrate the embedded stores: they need `serve` stopped (a `replay` writes through it). */
const WRITES_STORES = new Set(['run', 'db']);

/** Why a command runs only as `--help`, or null when it runs as written. */
function helpOnly(text: string): string | null {
  if (/…|\.\.\./.test(text)) return 'a placeholder';
  if (/--kafka\b/.test(text)) return 'Kafka';
  for (const m of text.matchAll(/\b(?:redis|rediss|postgres|postgresql):\/\/(?:[^@/\s]*@)?([^:/\s?]+)/g))
    if (m[1] !== '127.0.0.1' && m[1] !== 'localhost') return `a store on ${m[1]}`;
  return null;
}

interface Ran {
  code: number | null;
  out: string;
}

function sh(command: string): ChildProcess & { ran: Promise<Ran>; output: () => string } {
  const child = spawn('bash', ['-c', `exec ${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const ran = new Promise<Ran>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code, out: signal === null ? out : `${out}\n(ended by ${signal})` }),
    ),
  );
  return Object.assign(child, { ran, output: () => out });
}

const servers: { what: string; child: ReturnType<typeof sh> }[] = [];

/** Stops the background servers as the docs say, with Ctrl-C (SIGINT); each must exit 0 (drained). */
async function stopServers(): Promise<void> {
  while (servers.length > 0) {
    const { what, child } = servers.pop()!;
    // Still running when this stops it (not ended by something else before).
    const before = child.exitCode === null && child.signalCode === null ? 'running' : 'ended';
    child.kill('SIGINT');
    const r = await child.ran;
    expect(before, `${what} ended before it was stopped:\n${r.out}`).toBe('running');
    expect(r.code, `${what} stopped by SIGINT (Ctrl-C):\n${r.out}`).toBe(0);
  }
}

afterAll(async () => {
  for (const { child } of servers) child.kill('SIGKILL');
});

describe('the commands of the docs', () => {
  it('finds the commands of README.md and getting-started.md', () => {
    const readme = docCommands('README.md').map((c) => c.text);
    expect(readme[0]).toBe('run');
    expect(docCommands('docs/getting-started.md').length).toBeGreaterThan(10);
  });

  for (const file of FILES) {
    const commands = docCommands(file);
    if (commands.length === 0) continue;
    it(`${file}: ${commands.length} commands run as written`, async () => {
      for (const c of commands) {
        const where = `${c.file}:${c.line}: featurestream ${c.text}`;
        const sub = subcommand(c.text);
        const only = helpOnly(c.text);
        if (only !== null) {
          const r = await sh(`featurestream ${sub.join(' ')} --help`).ran;
          expect(r.code, `${where} (--help only: ${only})\n${r.out}`).toBe(0);
          continue;
        }
        if (WRITES_STORES.has(sub[0]!)) await stopServers();
        if (LONG_RUNNING.has(sub[0]!)) {
          const child = sh(`featurestream ${c.text} --port 0`);
          const started = await new Promise<boolean>((resolve) => {
            const check = () => {
              if (/listening on http|topology page: http/.test(child.output())) resolve(true);
            };
            child.stdout!.on('data', check);
            child.on('close', () => resolve(false));
            check();
          });
          expect(started, `${where} did not start:\n${child.output()}`).toBe(true);
          servers.push({ what: where, child });
          continue;
        }
        const r = await sh(`featurestream ${c.text}`).ran;
        expect(r.code, `${where}\n${r.out}`).toBe(0);
      }
      await stopServers();
    }, 900_000);
  }
});
