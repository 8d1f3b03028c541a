import { describe, expect, it } from 'vitest';
import { notJsonDetail } from './json-error.js';

describe('notJsonDetail', () => {
  it('words a JSON.parse error as Node 20 does, on any Node', () => {
    // The messages of Node 20 and Node 22+ (V8 12.4 added the line and column) for the same line.
    const node20 = new SyntaxError("Expected ',' or '}' after property value in JSON at position 5");
    const node24 = new SyntaxError(
      "Expected ',' or '}' after property value in JSON at position 5 (line 1 column 6)",
    );
    expect(notJsonDetail('{"a":1 x', node24)).toBe(notJsonDetail('{"a":1 x', node20));
    expect(notJsonDetail('{"a":1 x', node24)).toBe(
      "not JSON: Expected ',' or '}' after property value in JSON at position 5",
    );
  });

  it('gives this Node’s own error for a real line the Node 20 words', () => {
    let err: unknown;
    try {
      JSON.parse('{"type":"x",}');
    } catch (e) {
      err = e;
    }
    expect(notJsonDetail('{"type":"x",}', err)).not.toMatch(/\(line \d+ column \d+\)/);
    expect(notJsonDetail('{"type":"x",}', err)).toMatch(/^not JSON: .*position 12$/);
  });

  it('names an empty line', () => {
    expect(notJsonDetail('', new SyntaxError('Unexpected end of JSON input'))).toBe('not JSON: empty line');
  });
});
