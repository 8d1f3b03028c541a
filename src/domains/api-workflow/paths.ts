/**
 * API paths → endpoint templates. A concrete path (`/v1/invoices/in_1Mx2`) becomes the API's
 * template (`/v1/invoices/{id}`): through the templates of a loaded OpenAPI document when there
 * is one ({@link TemplateMatcher}), else by the id heuristic ({@link heuristicTemplate}).
 *
 * An endpoint is `METHOD template` (`POST /v1/invoices/{id}/pay`); n-gram counts, popularity and
 * recency are all over endpoints.
 */

/** Path without query string, fragment or trailing slash (`/` stays `/`). */
export function stripPath(path: string): string {
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  const h = path.indexOf('#');
  if (h >= 0 && h < end) end = h;
  let p = path.slice(0, end);
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p === '' ? '/' : p;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]{8,}$/i;
/** Stripe-style prefixed ids: `in_1MtHbE`, `cus_9s6XKz`, `pi_3M…` (a digit after the prefix). */
const PREFIXED = /^[A-Za-z]{1,12}_[A-Za-z0-9]*\d[A-Za-z0-9]*$/;
const NUMBER = /^\d+$/;
/** Long tokens mixing letters and digits (base62 ids, slugs with hashes). */
const MIXED = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}$/;
const VERSION = /^v\d+(\.\d+)?$/i;

/**
 * Whether one path segment looks like an identifier rather than a name. The documented heuristic:
 * a number (`42`), a UUID, 8+ hex digits (`a3f5c2e1`, commit SHAs), a prefixed id with a digit
 * (`in_123`, `cus_9s6XKz`), a token of 16+ characters mixing letters and digits, or anything with
 * `@` or `.` that is not a version (`user@example.com`, `v1.2` stays). `{param}` segments are ids.
 * Version segments (`v1`, `v2.1`) are names.
 *
 * @example
 * isIdSegment('in_1MtHbE'); // true
 * isIdSegment('invoices');  // false
 */
export function isIdSegment(seg: string): boolean {
  if (seg.startsWith('{') && seg.endsWith('}')) return true;
  if (VERSION.test(seg)) return false;
  return (
    NUMBER.test(seg) ||
    UUID.test(seg) ||
    (HEX.test(seg) && /\d/.test(seg)) ||
    PREFIXED.test(seg) ||
    MIXED.test(seg) ||
    seg.includes('@') ||
    seg.includes('.') ||
    seg.includes(':')
  );
}

/**
 * The template of a concrete path by the id heuristic: query and trailing slash dropped, every
 * id segment ({@link isIdSegment}) replaced by `{id}`; template segments (`{x}`) are kept as
 * written.
 *
 * @example
 * heuristicTemplate('/v1/invoices/in_1MtHbE/pay?expand=x'); // '/v1/invoices/{id}/pay'
 * heuristicTemplate('/repos/octo/hello/pulls/42');         // '/repos/octo/hello/pulls/{id}'
 */
export function heuristicTemplate(path: string): string {
  const p = stripPath(path);
  if (p === '/') return p;
  return p
    .split('/')
    .map((s, i) => (i === 0 || (s.startsWith('{') && s.endsWith('}')) ? s : isIdSegment(s) ? '{id}' : s))
    .join('/');
}

interface TrieNode {
  readonly literals: Map<string, TrieNode>;
  param: TrieNode | null;
  template: string | null;
}

const newNode = (): TrieNode => ({ literals: new Map(), param: null, template: null });

/**
 * Matches concrete paths against a set of templates (`/repos/{owner}/{repo}/pulls/{pull_number}`):
 * segment by segment, a literal segment is preferred over a parameter (so `/pulls/comments`
 * matches `/pulls/comments`, not `/pulls/{pull_number}`), with backtracking. A path that is
 * already a template matches itself.
 *
 * @example
 * const m = new TemplateMatcher(['/v1/invoices/{invoice}', '/v1/invoices/{invoice}/pay']);
 * m.match('/v1/invoices/in_42/pay'); // '/v1/invoices/{invoice}/pay'
 * m.match('/v2/unknown');            // null
 */
export class TemplateMatcher {
  private readonly root: TrieNode = newNode();
  readonly size: number;

  constructor(templates: Iterable<string>) {
    let n = 0;
    for (const t of templates) {
      let node = this.root;
      for (const seg of segments(stripPath(t))) {
        if (seg.startsWith('{') && seg.endsWith('}')) {
          node.param ??= newNode();
          node = node.param;
        } else {
          let next = node.literals.get(seg);
          if (next === undefined) {
            next = newNode();
            node.literals.set(seg, next);
          }
          node = next;
        }
      }
      if (node.template === null) n++;
      node.template ??= stripPath(t);
    }
    this.size = n;
  }

  /** The template a path matches, or null. */
  match(path: string): string | null {
    return walk(this.root, segments(stripPath(path)), 0);
  }
}

function segments(p: string): string[] {
  return p === '/' ? [] : p.slice(1).split('/');
}

function walk(node: TrieNode, segs: readonly string[], i: number): string | null {
  if (i === segs.length) return node.template;
  const seg = segs[i]!;
  const isParam = seg.startsWith('{') && seg.endsWith('}');
  if (!isParam) {
    const lit = node.literals.get(seg);
    if (lit !== undefined) {
      const found = walk(lit, segs, i + 1);
      if (found !== null) return found;
    }
  }
  return node.param === null ? null : walk(node.param, segs, i + 1);
}

/**
 * Concrete paths → templates: the loaded templates first, the heuristic for paths they do not
 * cover (and when none are loaded).
 */
export class PathNormalizer {
  private readonly matcher: TemplateMatcher | null;

  constructor(templates: Iterable<string> = []) {
    const m = new TemplateMatcher(templates);
    this.matcher = m.size > 0 ? m : null;
  }

  /** The template of `path`; `fromSpec` tells whether a loaded template matched. */
  normalize(path: string): { template: string; fromSpec: boolean } {
    const t = this.matcher?.match(path) ?? null;
    return t === null
      ? { template: heuristicTemplate(path), fromSpec: false }
      : { template: t, fromSpec: true };
  }
}

/** `METHOD template`, the unit of n-grams, popularity and recency. */
export function endpointKey(method: string, template: string): string {
  return `${method.toUpperCase()} ${template}`;
}
