import { ConfigError } from '../src/shared/errors.js';
import type { StateBackend } from './backend.js';
import { LevelDbBackend } from './leveldb-backend.js';
import { MemoryBackend } from './memory-backend.js';

export type BackendConfig =
  | { readonly kind: 'memory' }
  | { readonly kind: 'leveldb'; readonly location: string; readonly sync?: boolean };

/**
 * Creates (without opening) the state backend a configuration names.
 *
 * @example
 * const db = createBackend({ kind: 'leveldb', location: '.featurestream/shard-0' });
 * await db.open();
 */
export function createBackend(config: BackendConfig): StateBackend {
  switch (config.kind) {
    case 'memory':
      return new MemoryBackend();
    case 'leveldb':
      if (typeof config.location !== 'string' || config.location === '') {
        throw new ConfigError('state backend `location` must be a non-empty path for kind "leveldb"', {
          field: 'state.location',
        });
      }
      return new LevelDbBackend(config.location, config.sync === undefined ? {} : { sync: config.sync });
    default:
      throw new ConfigError(
        `state backend \`kind\` must be "memory" or "leveldb", got ${JSON.stringify((config as { kind: unknown }).kind)}`,
        { field: 'state.kind' },
      );
  }
}
