/**
 * Whether a connection error says nothing listens at the address: refused at once
 * (`ECONNREFUSED`), also when Node tried several addresses (happy eyeballs) and each refused.
 * Waiting does not change that, so a start-up check fails on it without retrying.
 *
 * @example
 * isConnectionRefused(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })); // true
 */
export function isConnectionRefused(err: unknown): boolean {
  const e = err as { code?: string; errors?: unknown[] } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.code === 'ECONNREFUSED') return true;
  // Node's happy-eyeballs connect (several addresses) fails with an AggregateError of each.
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isConnectionRefused);
}
