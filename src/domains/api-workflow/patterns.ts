/**
 * Workflow patterns as configurable templates over workflow states (WF_005). A template is an
 * ordered list of states, optionally anchored at the session's start. The shipped ones are the
 * design's three:
 *
 * - `cold_start_create` — a session that starts by creating (anchored: `save` first);
 * - `browse_edit_save` — browse → edit → save;
 * - `browse_confirm_save` — browse → confirm → save.
 *
 * Detection over a session's states (oldest first): for each template, `k` is the longest prefix
 * of the template that occurs in order in the session (a subsequence; anchored templates must
 * match at the first call), `progress = k / m`, `coverage` the share of the session's calls whose
 * state is in the matched prefix, and `score = progress × (0.5 + 0.5 × coverage)`; an anchored
 * template that matched completely scores 1 (it is defined by its start alone). The detected
 * pattern is the best score (earlier template on a tie), its confidence the score; no history,
 * or every score 0, is `none` with confidence 0.
 */
import { ConfigError } from '../../shared/errors.js';
import { WORKFLOW_STATES, type WorkflowState } from './states.js';

/** One pattern template. */
export interface PatternTemplate {
  readonly name: string;
  readonly states: readonly WorkflowState[];
  /** True when the first state must be the session's first call. */
  readonly anchored?: boolean;
}

export const SHIPPED_PATTERNS: readonly PatternTemplate[] = Object.freeze([
  Object.freeze({ name: 'cold_start_create', states: Object.freeze(['save'] as const), anchored: true }),
  Object.freeze({ name: 'browse_edit_save', states: Object.freeze(['browse', 'edit', 'save'] as const) }),
  Object.freeze({
    name: 'browse_confirm_save',
    states: Object.freeze(['browse', 'confirm', 'save'] as const),
  }),
]);

/** The name of "no pattern detected". */
export const NO_PATTERN = 'none';

/**
 * Validates pattern templates from configuration; errors name the field.
 *
 * @example
 * validatePatterns([{ name: 'x', states: ['browse', 'nap'] }]); // throws: patterns[0].states[1] …
 */
export function validatePatterns(value: unknown, field = 'patterns'): PatternTemplate[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(`${field} must be a non-empty array of pattern templates`, { field });
  }
  const seen = new Set<string>();
  return value.map((p, i) => {
    const at = `${field}[${i}]`;
    if (typeof p !== 'object' || p === null) throw new ConfigError(`${at} must be an object`, { field: at });
    const { name, states, anchored } = p as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name) || name === NO_PATTERN) {
      throw new ConfigError(
        `${at}.name must match [a-z][a-z0-9_]* and not be "none", got ${JSON.stringify(name)}`,
        {
          field: `${at}.name`,
        },
      );
    }
    if (seen.has(name))
      throw new ConfigError(`${at}.name ${JSON.stringify(name)} is repeated`, { field: `${at}.name` });
    seen.add(name);
    if (!Array.isArray(states) || states.length === 0) {
      throw new ConfigError(`${at}.states must be a non-empty array of states`, { field: `${at}.states` });
    }
    states.forEach((s, j) => {
      if (!(WORKFLOW_STATES as readonly unknown[]).includes(s)) {
        throw new ConfigError(
          `${at}.states[${j}] must be one of ${WORKFLOW_STATES.join(', ')}, got ${JSON.stringify(s)}`,
          { field: `${at}.states[${j}]` },
        );
      }
    });
    if (anchored !== undefined && typeof anchored !== 'boolean') {
      throw new ConfigError(`${at}.anchored must be a boolean`, { field: `${at}.anchored` });
    }
    return { name, states: states as WorkflowState[], ...(anchored === true ? { anchored: true } : {}) };
  });
}

/** A detected pattern. */
export interface DetectedPattern {
  readonly name: string;
  readonly confidence: number;
  /** Index into the templates; -1 for none. */
  readonly index: number;
}

/** Scores one template against a state sequence (oldest first); see the module comment. */
export function patternScore(p: PatternTemplate, history: readonly WorkflowState[]): number {
  const n = history.length;
  if (n === 0) return 0;
  const m = p.states.length;
  let k = 0;
  for (let i = 0; i < n && k < m; i++) {
    if (history[i] === p.states[k]) k++;
    else if (p.anchored === true && k === 0) return 0;
  }
  if (k === 0) return 0;
  if (p.anchored === true && k === m) return 1;
  const matched = new Set(p.states.slice(0, k));
  let covered = 0;
  for (const s of history) if (matched.has(s)) covered++;
  return (k / m) * (0.5 + 0.5 * (covered / n));
}

/**
 * The detected pattern of a session's states (oldest first).
 *
 * @example
 * detectPattern(['browse', 'edit', 'save']).name; // 'browse_edit_save', confidence 1
 */
export function detectPattern(
  history: readonly WorkflowState[],
  templates: readonly PatternTemplate[] = SHIPPED_PATTERNS,
): DetectedPattern {
  let best: DetectedPattern = { name: NO_PATTERN, confidence: 0, index: -1 };
  templates.forEach((p, index) => {
    const score = patternScore(p, history);
    if (score > best.confidence) best = { name: p.name, confidence: score, index };
  });
  return best;
}
