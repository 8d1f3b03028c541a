/**
 * Workflow states of an API call (feature-catalog.md, family B): browse (GET), edit (PUT/PATCH),
 * save/create (POST), confirm (POST or PUT to an action path such as `/confirm`), delete
 * (DELETE). Other methods (HEAD, OPTIONS, …) count as browse.
 */

export const WORKFLOW_STATES = ['browse', 'edit', 'save', 'confirm', 'delete'] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];
/** The state before a session's first call, as a transition source. */
export const START = 'start';
export type FromState = WorkflowState | typeof START;

/** The last path segments that make a POST/PUT a confirmation. */
export const ACTION_SEGMENTS: ReadonlySet<string> = new Set([
  'confirm',
  'finalize',
  'pay',
  'send',
  'merge',
  'approve',
  'submit',
  'capture',
]);

/** Methods counted separately by the method prior (WF_007); anything else is `OTHER`. */
export const PRIOR_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OTHER'] as const;
export type PriorMethod = (typeof PRIOR_METHODS)[number];

export function priorMethod(method: string): PriorMethod {
  const m = method.toUpperCase();
  return (PRIOR_METHODS as readonly string[]).includes(m) ? (m as PriorMethod) : 'OTHER';
}

/**
 * The workflow state of a call.
 *
 * @example
 * workflowState('POST', '/v1/invoices/{id}/pay'); // 'confirm'
 * workflowState('POST', '/v1/invoices');          // 'save'
 */
export function workflowState(method: string, template: string): WorkflowState {
  const m = method.toUpperCase();
  if (m === 'DELETE') return 'delete';
  if (m === 'POST' || m === 'PUT') {
    const last = template.slice(template.lastIndexOf('/') + 1).toLowerCase();
    if (ACTION_SEGMENTS.has(last)) return 'confirm';
    return m === 'POST' ? 'save' : 'edit';
  }
  if (m === 'PATCH') return 'edit';
  return 'browse';
}

/** Index of a state in {@link WORKFLOW_STATES} (stored as a number in rows). */
export function stateIndex(s: WorkflowState): number {
  return WORKFLOW_STATES.indexOf(s);
}

/**
 * The resource a call acts on, for WF_006: the last literal path segment of the template that is
 * neither an action nor a version (`/v1/invoices/{id}/pay` → `invoices`,
 * `/repos/{owner}/{repo}/pulls/{pull_number}/merge` → `pulls`); an event's own `resource` field
 * takes precedence.
 */
export function resourceOf(template: string): string {
  const t = template.split('/');
  for (let i = t.length - 1; i >= 1; i--) {
    const seg = t[i]!;
    if (seg === '' || (seg.startsWith('{') && seg.endsWith('}'))) continue;
    if (ACTION_SEGMENTS.has(seg.toLowerCase()) || /^v\d+(\.\d+)?$/i.test(seg)) continue;
    return seg;
  }
  return '';
}
