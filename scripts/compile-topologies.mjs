// Compiles the shipped topology files of the build (dist/src/domains/*/…/*.yaml) to JSON beside
// them (NAME.compiled.json): a command then reads JSON, not YAML, and skips the shape check the
// compiled file already passed here (topology/registry.ts). Each file is read and checked here
// exactly as at run time (its shape and every topology rule, with the shipped domains registered).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';

const dist = (p) => pathToFileURL(join(process.cwd(), 'dist', p)).href;
const { registerDomains } = await import(dist('src/cli/domains.js'));
const { readTopologyFile } = await import(dist('topology/index.js'));
registerDomains();

function* yamlFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* yamlFiles(path);
    else if (/\.ya?ml$/.test(name)) yield path;
  }
}

for (const file of yamlFiles(join('dist', 'src', 'domains'))) {
  readTopologyFile(file); // throws, naming the field, when the file is not a valid topology
  const doc = YAML.parse(readFileSync(file, 'utf8'));
  writeFileSync(file.replace(/\.ya?ml$/, '.compiled.json'), JSON.stringify(doc));
}
