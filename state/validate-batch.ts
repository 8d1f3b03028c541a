import { InternalError } from '../src/shared/errors.js';
import type { BatchOp } from './backend.js';

// A lone UTF-16 surrogate has no UTF-8 encoding: LevelDB would store U+FFFD instead and the
// key read back would differ from the key written. Both backends reject such strings so
// they behave alike. (In /u mode a surrogate pair is one code point, so only lone ones match.)
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Throws {@link InternalError} unless `s` is a string with no lone surrogate: backends store
 * UTF-8, so callers must normalize keys that come from raw event data.
 *
 * @example
 * assertWellFormed('s:w:gpt-4', 'key'); // ok
 * assertWellFormed('\ud800', 'key'); // throws InternalError
 */
export function assertWellFormed(s: unknown, what: 'key' | 'value' | 'prefix'): asserts s is string {
  if (typeof s !== 'string') {
    throw new InternalError(`state backend ${what} must be a string, got ${typeof s}`, { field: what });
  }
  if (LONE_SURROGATE.test(s)) {
    throw new InternalError(`state backend ${what} contains a lone UTF-16 surrogate: ${JSON.stringify(s)}`, {
      field: what,
    });
  }
}

/**
 * Checks every operation of a batch before any is applied, so an invalid batch changes nothing.
 *
 * @example
 * validateBatch([{ type: 'put', key: 'a', value: '1' }, { type: 'del', key: 'b' }]);
 */
export function validateBatch(ops: readonly BatchOp[]): void {
  for (const op of ops) {
    assertWellFormed(op.key, 'key');
    if (op.type === 'put') assertWellFormed(op.value, 'value');
    else if (op.type !== 'del') {
      throw new InternalError(
        `unknown batch operation type ${JSON.stringify((op as { type: unknown }).type)}`,
      );
    }
  }
}
