/**
 * Real API surfaces: GitHub's official OpenAPI document (npm `@octokit/openapi`, the
 * api.github.com JSON it ships) loaded as `workflow import-openapi` loads it — templates,
 * descriptions, and concrete paths normalised to its templates.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { resolveEndpoint } from './model.js';
import { loadOpenApi } from './openapi.js';
import { PathNormalizer } from './paths.js';
import { WORKFLOW_STATES } from './states.js';

const require = createRequire(import.meta.url);
const GITHUB = require.resolve('@octokit/openapi/generated/api.github.com.json');

describe("GitHub's OpenAPI document (@octokit/openapi)", () => {
  const spec = loadOpenApi(GITHUB);
  const byKey = new Map(spec.endpoints.map((e) => [`${e.method} ${e.path}`, e]));

  it('loads every operation with its template and summary as the description', () => {
    expect(spec.endpoints.length).toBeGreaterThan(1000);
    expect(byKey.get('GET /repos/{owner}/{repo}/pulls/{pull_number}')?.description).toBe(
      'Get a pull request',
    );
    expect(byKey.get('PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge')?.description).toBe(
      'Merge a pull request',
    );
    expect(byKey.get('POST /repos/{owner}/{repo}/issues/{issue_number}/comments')?.description).toBe(
      'Create an issue comment',
    );
    for (const e of spec.endpoints) {
      expect(e.path.startsWith('/')).toBe(true);
      expect(e.method).toMatch(/^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$/);
    }
  });

  it('normalises concrete paths to its templates, literal segments before parameters', () => {
    const n = new PathNormalizer(spec.endpoints.map((e) => e.path));
    const cases: [string, string][] = [
      ['/repos/octocat/hello-world/pulls/42', '/repos/{owner}/{repo}/pulls/{pull_number}'],
      ['/repos/octocat/hello-world/pulls/42/merge', '/repos/{owner}/{repo}/pulls/{pull_number}/merge'],
      [
        '/repos/octocat/hello-world/issues/7/comments',
        '/repos/{owner}/{repo}/issues/{issue_number}/comments',
      ],
      ['/users/octocat', '/users/{username}'],
    ];
    for (const [path, template] of cases) expect(n.normalize(path)).toEqual({ template, fromSpec: true });
    // Merging a pull request is a confirm step; reading it is browse.
    const merge = resolveEndpoint(n, 'PUT', '/repos/octocat/hello-world/pulls/42/merge');
    expect(WORKFLOW_STATES[merge.s]).toBe('confirm');
    expect(WORKFLOW_STATES[resolveEndpoint(n, 'GET', '/repos/o/r/pulls/1').s]).toBe('browse');
  });
});
