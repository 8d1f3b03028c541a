// Copies the non-TypeScript files the build needs beside the compiled modules:
// SQL migrations, shipped topology files and the embedding projections/corpus/word vectors.
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';

const copies = [['src/stores/migrations', 'dist/src/stores/migrations']];
// Shipped topology files, loaded by name (topology/index.ts).
mkdirSync('dist/topology', { recursive: true });
cpSync('topology/api-workflow.yaml', 'dist/topology/api-workflow.yaml');
for (const [from, to] of copies) {
  if (!existsSync(from)) continue;
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true });
}
const emb = 'src/features/embeddings';
if (existsSync(emb)) {
  mkdirSync(`dist/${emb}`, { recursive: true });
  for (const f of readdirSync(emb)) {
    if (f.endsWith('.json') || f.endsWith('.txt') || f.endsWith('.bin'))
      cpSync(`${emb}/${f}`, `dist/${emb}/${f}`);
  }
}
