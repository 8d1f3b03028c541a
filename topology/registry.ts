/**
 * Topologies by name: the files that plugins (the shipped domains among them) register, so
 * `--topology llm-features` finds `src/domains/llm/topologies/llm-features.yaml`. A topology is
 * data: the registry holds file paths and reads a file each time its name is asked for.
 *
 * @example
 * registerTopology('clickstream', new URL('./topology.yaml', import.meta.url), 'plugin clickstream');
 * TOPOLOGIES.get('clickstream')?.();
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../src/shared/errors.js';
import { parseTopology, readTopologyFile } from './file.js';
import type { Topology } from './nodes.js';

const files = new Map<string, string>();

/** The registered topologies by name; each factory reads, validates and freezes a fresh topology. */
export const TOPOLOGIES: ReadonlyMap<string, () => Topology> = new Map<string, () => Topology>();

/** Registers a topology file under `name`; a name already taken by another file is a ConfigError naming `source`. */
export function registerTopology(name: string, file: string | URL, source: string): void {
  const path = file instanceof URL || file.startsWith('file:') ? fileURLToPath(file) : file;
  const have = files.get(name);
  if (have === path) return;
  if (have !== undefined) {
    throw new ConfigError(`${source}: topology \`${name}\` is already registered (${have})`, {
      field: '--plugin',
    });
  }
  files.set(name, path);
  (TOPOLOGIES as Map<string, () => Topology>).set(name, () => readRegistered(path));
}

/**
 * The file's compiled form (`NAME.compiled.json`, written by the build beside a shipped YAML
 * file: `scripts/compile-topologies.mjs`) when it is at least as new as the file, else the file.
 * The compiled form skips YAML parsing and the shape check, which cost a command's start ~170 ms.
 */
function readRegistered(path: string): Topology {
  const compiled = path.replace(/\.ya?ml$/, '.compiled.json');
  if (compiled !== path && existsSync(compiled) && statSync(compiled).mtimeMs >= statSync(path).mtimeMs) {
    return parseTopology(readFileSync(compiled, 'utf8'), 'json', path, {
      shapeChecked: true,
      baseDir: dirname(path),
    });
  }
  return readTopologyFile(path);
}

/** The file a registered topology name reads, or undefined. */
export function topologyFile(name: string): string | undefined {
  return files.get(name);
}
