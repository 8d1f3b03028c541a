/**
 * The `featurestream` commands of a Markdown file's fenced `sh` blocks (test/docs-commands.test.ts,
 * test/init.test.ts).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ROOT } from './support.js';

/** One command of the docs, as written (continuation lines joined, comments dropped). */
export interface DocCommand {
  readonly file: string;
  readonly line: number;
  /** The words after `featurestream` (a shell string: it may hold a redirection). */
  readonly text: string;
}

/** The `featurestream` commands of a Markdown file's `sh` blocks. */
export function docCommands(file: string): DocCommand[] {
  const lines = readFileSync(isAbsolute(file) ? file : join(ROOT, file), 'utf8').split('\n');
  const out: DocCommand[] = [];
  let inSh = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^\s*```/.test(raw)) {
      inSh = !inSh && /^\s*```sh\s*$/.test(raw);
      continue;
    }
    if (!inSh) continue;
    let cmd = raw;
    const start = i;
    while (/\\\s*$/.test(cmd) && i + 1 < lines.length)
      cmd = `${cmd.replace(/\\\s*$/, ' ')}${lines[++i]!.trim()}`;
    // Drop a trailing comment (` # …`), then take each `&&`-joined part that runs featurestream.
    cmd = cmd.replace(/\s+#.*$/, '').trim();
    for (const part of cmd.split('&&').map((p) => p.trim())) {
      const m = /^(?:[A-Z_]+=\S+\s+)*(?:npx\s+)?featurestream\s+(.*)$/.exec(part);
      if (m !== null) out.push({ file, line: start + 1, text: m[1]! });
    }
  }
  return out;
}
