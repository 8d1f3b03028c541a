/** Small vector helpers shared by the derived features and their state classes. */
import { InternalError } from '../../../shared/errors.js';

/**
 * Cosine similarity of two vectors (DRV_004 with a running centroid), in [−1, 1]; null when
 * either has zero length (norm 0) or a non-finite component. Throws an {@link InternalError}
 * when the dimensions differ.
 *
 * @example
 * cosine([1, 0], [1, 1]); // 1 / Math.SQRT2
 */
export function cosine(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length) {
    throw new InternalError(`cosine: dimensions differ (${a.length} vs ${b.length})`);
  }
  // Scale each vector by its largest |component| first, so squares neither overflow nor underflow.
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma = Math.max(ma, Math.abs(a[i]!));
    mb = Math.max(mb, Math.abs(b[i]!));
  }
  if (ma === 0 || mb === 0) return null;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! / ma;
    const y = b[i]! / mb;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  const c = dot / (Math.sqrt(na) * Math.sqrt(nb));
  // NaN (a non-finite component) has no cosine.
  return Number.isNaN(c) ? null : Math.min(1, Math.max(-1, c));
}
