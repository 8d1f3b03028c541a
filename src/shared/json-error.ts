/**
 * The detail of a `not_json` dead letter, the same on every Node version: V8 12.4+ (Node 22+)
 * appends ` (line L column C)` to `JSON.parse` errors that Node 20 words without it, so a stream
 * whose run moves between Node versions (a rolling upgrade, a state dir restored by a newer
 * build) would otherwise write two details for the same line. The position stays in the words.
 *
 * @example
 * notJsonDetail('{"a":', new SyntaxError('Unexpected end of JSON input')); // 'not JSON: Unexpected end of JSON input'
 * notJsonDetail('', new SyntaxError('…')); // 'not JSON: empty line'
 */
export function notJsonDetail(line: string, err: unknown): string {
  if (line.length === 0) return 'not JSON: empty line';
  const message = (err instanceof Error ? err.message : String(err)).replace(LINE_COLUMN, '');
  return `not JSON: ${message.slice(0, 200)}`;
}

/** V8's ` (line 1 column 41)` suffix on `JSON.parse` errors (Node 22+). */
const LINE_COLUMN = / \(line \d+ column \d+\)$/;
