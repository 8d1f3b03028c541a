// Makes dist/assets/pglite-template.tar.gz: a freshly initialised PGlite data directory
// (`dumpDataDir`), which an embedded offline store in a new directory loads instead of running
// initdb (~1.2 s against ~3.5-4.3 s here). Skipped when the template of the installed PGlite
// version is already there; the stores fall back to initdb when it is missing.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

// The package's exports do not include package.json: read it from node_modules.
const version = JSON.parse(
  readFileSync(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'),
).version;
const dir = 'dist/assets';
const file = `${dir}/pglite-template.tar.gz`;
const stamp = `${file}.version`;
if (existsSync(file) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === version) process.exit(0);
mkdirSync(dir, { recursive: true });
const db = await PGlite.create();
const dump = await db.dumpDataDir('gzip');
await db.close();
writeFileSync(`${file}.tmp`, Buffer.from(await dump.arrayBuffer()));
renameSync(`${file}.tmp`, file);
writeFileSync(stamp, `${version}\n`);
