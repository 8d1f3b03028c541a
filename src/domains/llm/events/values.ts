/**
 * Value sets and checks shared by the fast decoder (`decode.ts`) and the zod schemas
 * (`schemas.ts`), so the two cannot drift on what an enum allows or where a non-finite number
 * hides.
 */

export const HEALTH_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export const OUTPUT_LENGTHS = ['short', 'medium', 'long'] as const;
export const USER_TIERS = ['free', 'pro', 'enterprise'] as const;
export const SIZE_CLASSES = ['small', 'medium', 'large'] as const;
export const HTTP_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
] as const;

/**
 * Whether a parsed JSON value holds a non-finite number anywhere (JSON.parse turns `1e999` into
 * Infinity). Iterative, so a deeply nested value cannot overflow the stack.
 */
export function hasNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return value - value !== 0;
  if (typeof value !== 'object' || value === null) return false;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x === 'number') {
          if (x - x !== 0) return true;
        } else if (typeof x === 'object' && x !== null) stack.push(x);
      }
    } else {
      const o = v as Record<string, unknown>;
      for (const k in o) {
        const x = o[k];
        if (typeof x === 'number') {
          if (x - x !== 0) return true;
        } else if (typeof x === 'object' && x !== null) stack.push(x);
      }
    }
  }
  return false;
}

/**
 * The path (`prefix.a[2].b`) and value of the first non-finite number in `value`, in document
 * order, or null. Slower than {@link hasNonFinite}: only called to explain a failure.
 */
export function findNonFinite(value: unknown, prefix: string): { path: string; value: number } | null {
  const stack: Array<[unknown, string]> = [[value, prefix]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'number') {
      if (v - v !== 0) return { path, value: v };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        stack.push([(v as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`]);
      }
    }
  }
  return null;
}

/** How a value reads in an error detail: `string`, `null`, `array`, `Infinity`, … */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && value - value !== 0) return String(value);
  return typeof value;
}

/** A user-supplied string quoted for an error detail, cut to 64 characters. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

/** Longest `api_call` path accepted (URLs over 2 KiB are refused by most servers anyway). */
export const MAX_API_PATH_LENGTH = 2048;

/**
 * Why an `api_call` path is not usable, or null when it is: it must be an absolute URL path
 * (`/…`), at most {@link MAX_API_PATH_LENGTH} characters, without whitespace or control
 * characters. A query string or fragment is allowed (normalisation drops it).
 *
 * @example
 * apiPathProblem('/v1/invoices/in_123'); // null
 * apiPathProblem('v1/invoices');         // 'must start with "/", got "v1/invoices"'
 */
export function apiPathProblem(path: string): string | null {
  if (!path.startsWith('/')) return `must start with "/", got ${quote(path)}`;
  if (path.length > MAX_API_PATH_LENGTH) {
    return `must be at most ${MAX_API_PATH_LENGTH} characters, got ${path.length}`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(path))
    return `must not contain whitespace or control characters, got ${quote(path)}`;
  return null;
}
