import { describe, expect, it } from 'vitest';
import {
  endpointKey,
  heuristicTemplate,
  isIdSegment,
  PathNormalizer,
  stripPath,
  TemplateMatcher,
} from './paths.js';

describe('path normalisation', () => {
  it('strips query, fragment and trailing slashes', () => {
    expect(stripPath('/v1/invoices/?limit=3#x')).toBe('/v1/invoices');
    expect(stripPath('/')).toBe('/');
    expect(stripPath('/?a=1')).toBe('/');
  });

  it('the id heuristic: numbers, UUIDs, hex, prefixed ids, long mixed tokens, emails; not names or versions', () => {
    for (const id of [
      '42',
      '0f8fad5b-d9cb-469f-a165-70867728950e',
      'a3f5c2e19b',
      'in_1MtHbE',
      'cus_9s6XKzkNRiz8i3',
      'AbCdEf0123456789xyz',
      'a@b.com',
      'file.txt',
    ])
      expect(isIdSegment(id), id).toBe(true);
    for (const name of ['invoices', 'line_items', 'v1', 'v2.1', 'pulls', 'deadbeef', 'payment_intents'])
      expect(isIdSegment(name), name).toBe(false);
    expect(heuristicTemplate('/v1/invoices/in_1MtHbE/pay?expand=x')).toBe('/v1/invoices/{id}/pay');
    expect(heuristicTemplate('/repos/octo/hello/pulls/42/merge')).toBe('/repos/octo/hello/pulls/{id}/merge');
    expect(heuristicTemplate('/v1/invoices/{invoice}')).toBe('/v1/invoices/{invoice}');
  });

  it('templates from a spec: literal segments win over parameters, with backtracking', () => {
    const m = new TemplateMatcher([
      '/repos/{owner}/{repo}/pulls',
      '/repos/{owner}/{repo}/pulls/{pull_number}',
      '/repos/{owner}/{repo}/pulls/comments',
      '/repos/{owner}/{repo}/pulls/{pull_number}/merge',
    ]);
    expect(m.size).toBe(4);
    expect(m.match('/repos/octo/hello/pulls/comments')).toBe('/repos/{owner}/{repo}/pulls/comments');
    expect(m.match('/repos/octo/hello/pulls/7')).toBe('/repos/{owner}/{repo}/pulls/{pull_number}');
    expect(m.match('/repos/octo/hello/pulls/7/merge/')).toBe(
      '/repos/{owner}/{repo}/pulls/{pull_number}/merge',
    );
    // `comments` is also a valid pull number when followed by `/merge`: backtracking finds it.
    expect(m.match('/repos/octo/hello/pulls/comments/merge')).toBe(
      '/repos/{owner}/{repo}/pulls/{pull_number}/merge',
    );
    expect(m.match('/repos/{a}/{b}/pulls/{c}')).toBe('/repos/{owner}/{repo}/pulls/{pull_number}');
    expect(m.match('/gists/1')).toBeNull();
  });

  it('the normaliser falls back to the heuristic for paths the spec does not cover', () => {
    const n = new PathNormalizer(['/v1/invoices/{invoice}']);
    expect(n.normalize('/v1/invoices/in_9')).toEqual({ template: '/v1/invoices/{invoice}', fromSpec: true });
    expect(n.normalize('/v1/customers/cus_9s6X')).toEqual({
      template: '/v1/customers/{id}',
      fromSpec: false,
    });
    expect(new PathNormalizer().normalize('/v1/invoices/in_9').template).toBe('/v1/invoices/{id}');
    expect(endpointKey('post', '/v1/invoices')).toBe('POST /v1/invoices');
  });
});
