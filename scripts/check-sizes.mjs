// The size gate of `npm run lint` (a gate, not a linter: Biome is the linter): no function longer
// than --max-function lines and no file longer than --max-file lines of non-test TypeScript
// under the given folders (default: the runtime and the source drivers). Lengths come from the
// TypeScript compiler's syntax tree: a function is measured from its first line to its last,
// nested functions included; every function-like node counts (declarations, methods,
// constructors, accessors, arrow functions and function expressions).
//
//   node scripts/check-sizes.mjs [--max-function 150] [--max-file 500] [folder …]
//
// Exits 1 and lists every function and file over its limit, longest first.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const DEFAULT_FOLDERS = ['src/runtime', 'src/connectors'];

function parseArgs(argv) {
  const opts = { maxFunction: 150, maxFile: 500, folders: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--max-function' || a === '--max-file') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${a} needs a positive whole number`);
      if (a === '--max-function') opts.maxFunction = n;
      else opts.maxFile = n;
    } else opts.folders.push(a);
  }
  if (opts.folders.length === 0) opts.folders = DEFAULT_FOLDERS;
  return opts;
}

/** Non-test TypeScript files under `path` (a folder or a file). */
function* sources(path) {
  if (statSync(path).isFile()) {
    if (path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.d.ts')) yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    yield* sources(join(path, entry.name));
  }
}

/** A readable name for a function-like node. */
function nameOf(node, sf) {
  if (node.name !== undefined) return node.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const p = node.parent;
  if (
    p !== undefined &&
    (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))
  )
    return p.name.getText(sf);
  return '(anonymous)';
}

/** Every function-like node of a file with its length in lines. */
function functionsOf(file) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ name: nameOf(node, sf), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
  return { lines, functions: out };
}

const opts = parseArgs(process.argv.slice(2));
const problems = [];
for (const folder of opts.folders) {
  for (const file of sources(folder)) {
    const { lines, functions } = functionsOf(file);
    const where = relative(process.cwd(), file);
    if (lines > opts.maxFile)
      problems.push({ lines, text: `${where}: ${lines} lines (max ${opts.maxFile})` });
    for (const f of functions) {
      if (f.lines > opts.maxFunction)
        problems.push({
          lines: f.lines,
          text: `${where}:${f.line}: function ${f.name} is ${f.lines} lines (max ${opts.maxFunction})`,
        });
    }
  }
}
if (problems.length > 0) {
  problems.sort((a, b) => b.lines - a.lines);
  console.error(`check-sizes: ${problems.length} over the limit`);
  for (const p of problems) console.error(`  ${p.text}`);
  process.exit(1);
}
console.log(
  `check-sizes: ${opts.folders.join(', ')} within ${opts.maxFunction} lines a function and ${opts.maxFile} a file`,
);
