import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.js';
import { detectPattern, patternScore, SHIPPED_PATTERNS, validatePatterns } from './patterns.js';
import { resourceOf, workflowState } from './states.js';

describe('workflow states', () => {
  it('maps method and action path to a state', () => {
    expect(workflowState('GET', '/v1/invoices/{id}')).toBe('browse');
    expect(workflowState('HEAD', '/v1/invoices')).toBe('browse');
    expect(workflowState('PATCH', '/v1/invoices/{id}')).toBe('edit');
    expect(workflowState('PUT', '/v1/invoices/{id}')).toBe('edit');
    expect(workflowState('POST', '/v1/invoices')).toBe('save');
    expect(workflowState('POST', '/v1/invoices/{id}/finalize')).toBe('confirm');
    expect(workflowState('PUT', '/repos/{o}/{r}/pulls/{n}/merge')).toBe('confirm');
    expect(workflowState('GET', '/v1/invoices/{id}/pay')).toBe('browse');
    expect(workflowState('DELETE', '/v1/invoices/{id}')).toBe('delete');
  });

  it('the resource is the last literal segment that is not an action or a version', () => {
    expect(resourceOf('/v1/invoices/{id}/pay')).toBe('invoices');
    expect(resourceOf('/repos/{owner}/{repo}/pulls/{pull_number}/merge')).toBe('pulls');
    expect(resourceOf('/v1/customers')).toBe('customers');
    expect(resourceOf('/v1')).toBe('');
  });
});

describe('patterns', () => {
  it('scores templates by progress and coverage (hand-computed)', () => {
    const [cold, bes, bcs] = SHIPPED_PATTERNS;
    expect(patternScore(bes!, ['browse', 'edit', 'save'])).toBe(1);
    // k = 2 of 3, coverage 3/4 (the delete is not covered): 2/3 × (0.5 + 0.375)
    expect(patternScore(bes!, ['browse', 'delete', 'browse', 'edit'])).toBeCloseTo((2 / 3) * 0.875, 12);
    expect(patternScore(bcs!, ['browse', 'edit', 'save'])).toBeCloseTo((1 / 3) * (0.5 + 0.5 / 3), 12);
    expect(patternScore(cold!, ['save', 'browse', 'edit'])).toBe(1);
    expect(patternScore(cold!, ['browse', 'save'])).toBe(0);
    expect(patternScore(bes!, [])).toBe(0);
  });

  it('detects the best template; ties go to the earlier one; no history is none', () => {
    expect(detectPattern([])).toEqual({ name: 'none', confidence: 0, index: -1 });
    expect(detectPattern(['browse', 'edit', 'save']).name).toBe('browse_edit_save');
    expect(detectPattern(['browse', 'confirm', 'save']).name).toBe('browse_confirm_save');
    expect(detectPattern(['save', 'browse', 'edit', 'save'])).toMatchObject({
      name: 'cold_start_create',
      confidence: 1,
    });
    expect(detectPattern(['browse'])).toMatchObject({ name: 'browse_edit_save', confidence: 1 / 3 });
    expect(detectPattern(['delete']).name).toBe('none');
  });

  it('validates configured templates, naming the field', () => {
    expect(validatePatterns([{ name: 'review_merge', states: ['browse', 'confirm'] }])).toEqual([
      { name: 'review_merge', states: ['browse', 'confirm'] },
    ]);
    expect(() => validatePatterns([{ name: 'x', states: ['browse', 'nap'] }])).toThrow(
      /patterns\[0\]\.states\[1\] must be one of browse, edit, save, confirm, delete, got "nap"/,
    );
    expect(() => validatePatterns([{ name: 'none', states: ['browse'] }])).toThrow(ConfigError);
    expect(() => validatePatterns([])).toThrow(/patterns must be a non-empty array/);
  });
});
