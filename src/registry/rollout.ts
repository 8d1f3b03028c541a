/**
 * Version rollouts: a share of traffic per version of a feature group, assigned by a stable hash
 * of the user id, so a user keeps seeing the same version for as long as the rollout is unchanged
 * and both versions can be served and compared (stores-and-serving.md, "Versions").
 *
 * @example
 * const rollout = [{ version: 1, share: 0.9 }, { version: 2, share: 0.1 }];
 * validateRollout(rollout, 'rollout.perf_5min');
 * assignVersion('user-42', rollout); // 1 or 2, the same every time for 'user-42'
 */
import { ConfigError } from '../shared/errors.js';

/** One arm of a rollout: `share` of the users (in (0, 1]) are served `version`. */
export interface RolloutArm {
  readonly version: number;
  readonly share: number;
}

/** Tolerance on the sum of shares, so that e.g. `0.7 + 0.2 + 0.1` is accepted. */
const SUM_EPSILON = 1e-9;

/**
 * Checks a rollout: at least one arm, versions positive integers and distinct, every share in
 * (0, 1], shares summing to 1. Throws a {@link ConfigError} naming `field` and the rule.
 *
 * @example
 * validateRollout([{ version: 1, share: 0.5 }, { version: 2, share: 0.4 }], 'rollout.perf_5min');
 * // ConfigError: `rollout.perf_5min` shares must sum to 1, got 0.9
 */
export function validateRollout(rollout: readonly RolloutArm[], field = 'rollout'): void {
  if (!Array.isArray(rollout) || rollout.length === 0) {
    throw new ConfigError(`\`${field}\` must list at least one { version, share }`, { field });
  }
  const seen = new Set<number>();
  let sum = 0;
  for (const [i, arm] of rollout.entries()) {
    if (!Number.isSafeInteger(arm.version) || arm.version < 1) {
      throw new ConfigError(`\`${field}[${i}].version\` must be a positive integer, got ${arm.version}`, {
        field: `${field}[${i}].version`,
      });
    }
    if (seen.has(arm.version)) {
      throw new ConfigError(`\`${field}\` lists version ${arm.version} twice`, { field });
    }
    seen.add(arm.version);
    if (!(arm.share > 0 && arm.share <= 1)) {
      throw new ConfigError(`\`${field}[${i}].share\` must be in (0, 1], got ${arm.share}`, {
        field: `${field}[${i}].share`,
      });
    }
    sum += arm.share;
  }
  if (Math.abs(sum - 1) > SUM_EPSILON) {
    throw new ConfigError(`\`${field}\` shares must sum to 1, got ${sum}`, { field });
  }
}

/**
 * 32-bit FNV-1a of the UTF-8 bytes of `text`, divided by 2^32: a stable point in [0, 1).
 * Stable across processes, platforms and releases (no seed), which is what makes an assignment
 * sticky.
 *
 * @example
 * userHashUnit('user-42'); // same value in every process, in [0, 1)
 */
export function userHashUnit(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    // Hash UTF-8 bytes, so the value does not depend on the string's in-memory encoding.
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const lo = c <= 0xdbff && i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else {
        c = 0xfffd; // a lone surrogate, encoded as U+FFFD like TextEncoder does
      }
    }
    const bytes =
      c < 0x800
        ? [0xc0 | (c >> 6), 0x80 | (c & 63)]
        : c < 0x10000
          ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)]
          : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
}

/**
 * The version a user is served under a rollout: the user id is hashed ({@link userHashUnit}) to
 * a point u in [0, 1) and the arm whose cumulative share interval contains u wins, in the order
 * the arms are listed. Deterministic; with shares 0.9/0.1, about 90 % of users get the first
 * version. The rollout is validated ({@link validateRollout}); an invalid one throws
 * {@link ConfigError}.
 *
 * @example
 * assignVersion('user-42', [{ version: 1, share: 0.5 }, { version: 2, share: 0.5 }]); // 1 or 2, stable
 */
export function assignVersion(userId: string, rollout: readonly RolloutArm[]): number {
  validateRollout(rollout);
  const u = userHashUnit(userId);
  let cumulative = 0;
  for (const arm of rollout) {
    cumulative += arm.share;
    if (u < cumulative) return arm.version;
  }
  // Rounding left the cumulative sum a hair under 1 and u above it: the last arm.
  return rollout[rollout.length - 1]!.version;
}
