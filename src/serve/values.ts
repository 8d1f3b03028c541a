/**
 * The value of one (entity, group, version) as the serving tiers hold it: what L1 caches, what
 * L2 (Redis) and L3 (PostgreSQL) reads are turned into.
 */
export interface TierValue {
  /** Value name → finite number or null (NaN and ±∞ are served as null, as JSON has no such numbers). */
  readonly values: Readonly<Record<string, number | null>>;
  /** ms since the epoch. */
  readonly eventTime: number;
  readonly revision: number;
  /** ms since the epoch. */
  readonly computedAt: number;
  /** `computedAt` as RFC 3339, computed once when the value enters the server. */
  readonly computedAtIso: string;
}

/**
 * Builds a {@link TierValue} from raw values, keeping only finite numbers (others → null).
 *
 * @example
 * toTierValue({ p95: 812, bad: Number.NaN }, 299_999, 0, 300_100).values; // { p95: 812, bad: null }
 */
export function toTierValue(
  raw: Readonly<Record<string, unknown>>,
  eventTime: number,
  revision: number,
  computedAt: number,
): TierValue {
  const values: Record<string, number | null> = {};
  for (const name in raw) {
    const v = raw[name];
    values[name] = typeof v === 'number' && Number.isFinite(v) ? v : null;
  }
  return {
    values,
    eventTime,
    revision,
    computedAt,
    computedAtIso: Number.isFinite(computedAt) ? new Date(computedAt).toISOString() : '',
  };
}
