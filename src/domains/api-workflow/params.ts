/** Parameters of the shipped `api-workflow` topology, shared by the topology, the model and serving. */
const MINUTE = 60_000;

export const API_WORKFLOW_PARAMS = Object.freeze({
  /** Half-life of n-gram and transition counts, ms. */
  halfLife: 24 * 60 * MINUTE,
  /** Popularity: τ·ln 2 with τ = 1 h, rounded to the ms (as PopularityCounts does). */
  popularityHalfLife: Math.round(60 * MINUTE * Math.LN2),
  /** Session state is dropped this long after a session's last call (+ lateness), ms. */
  gap: 30 * MINUTE,
  lateness: 5 * MINUTE,
  outOfOrderness: 2 * MINUTE,
});
