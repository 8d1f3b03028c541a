import { ConfigError } from '../src/shared/errors.js';
import type { WindowSpec } from '../topology/nodes.js';

/** A half-open event-time interval `[start, end)` in ms; its last timestamp is `end - 1`. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/**
 * Flink's `TimeWindow.getWindowStartWithOffset`, after the fix for negative timestamps.
 * JavaScript's `%` truncates like Java's, so this ports as written.
 *
 * @example windowStart(-1, 0, 300_000) === -300_000
 */
export function windowStart(ts: number, offset: number, size: number): number {
  const r = (ts - offset) % size;
  return r < 0 ? ts - (r + size) : ts - r;
}

/**
 * A pure window assigner: no I/O, no state. Tumbling is sliding with slide = size. The window
 * operators compute windows only through it.
 */
export interface WindowAssigner {
  readonly kind: 'sliding' | 'session';
  /** True when the windows of different elements merge (sessions). */
  readonly merging: boolean;
  /** The windows an element with timestamp `ts` belongs to, latest start first. */
  assign(ts: number): TimeWindow[];
  /**
   * The end of the last window `assign(ts)` returns the latest-closing one of (its first), without
   * building the list: an element whose latest window is past the allowed lateness is late.
   */
  latestEnd(ts: number): number;
}

/** Sliding (and, with slide = size, tumbling) windows. */
export interface SlidingAssigner extends WindowAssigner {
  readonly kind: 'sliding';
  readonly size: number;
  readonly slide: number;
  readonly offset: number;
  /**
   * Pane length: the greatest common divisor of size and slide. Every window is a union of
   * whole panes, so an element updates exactly one pane.
   */
  readonly pane: number;
  /** Start of the pane holding `ts`. */
  paneStart(ts: number): number;
}

/** Session windows: each element opens `[ts, ts + gap)`; touching windows merge. */
export interface SessionAssigner extends WindowAssigner {
  readonly kind: 'session';
  readonly gap: number;
  readonly maxDuration: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function positiveInt(v: number, field: string, kind: string): void {
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new ConfigError(`${kind} window \`${field}\` must be a positive integer (ms), got ${v}`, { field });
  }
}

/**
 * Sliding windows of `size` every `slide`, shifted by `offset` (|offset| < slide).
 *
 * @example slidingAssigner(3_600_000, 300_000).assign(0).length === 12
 */
export function slidingAssigner(size: number, slide: number, offset = 0): SlidingAssigner {
  positiveInt(size, 'size', 'sliding');
  positiveInt(slide, 'slide', 'sliding');
  if (slide > size) {
    throw new ConfigError(`sliding window \`slide\` must be > 0 and ≤ \`size\`, got ${slide}`, {
      field: 'slide',
    });
  }
  if (!Number.isSafeInteger(offset) || Math.abs(offset) >= slide) {
    throw new ConfigError(
      `sliding window \`offset\` must be an integer with |offset| < \`slide\`, got ${offset}`,
      {
        field: 'offset',
      },
    );
  }
  const pane = gcd(size, slide);
  return Object.freeze({
    kind: 'sliding' as const,
    merging: false,
    size,
    slide,
    offset,
    pane,
    paneStart: (ts: number) => windowStart(ts, offset, pane),
    latestEnd: (ts: number) => windowStart(ts, offset, slide) + size,
    assign(ts: number): TimeWindow[] {
      const out: TimeWindow[] = [];
      for (let w = windowStart(ts, offset, slide); w > ts - size; w -= slide)
        out.push({ start: w, end: w + size });
      return out;
    },
  });
}

/** Tumbling windows of `size` (|offset| < size). */
export function tumblingAssigner(size: number, offset = 0): SlidingAssigner {
  positiveInt(size, 'size', 'tumbling');
  if (!Number.isSafeInteger(offset) || Math.abs(offset) >= size) {
    throw new ConfigError(
      `tumbling window \`offset\` must be an integer with |offset| < \`size\`, got ${offset}`,
      {
        field: 'offset',
      },
    );
  }
  return slidingAssigner(size, size, offset);
}

/** Session windows with inactivity `gap` and an optional maximum length (default: none). */
export function sessionAssigner(gap: number, maxDuration = Number.POSITIVE_INFINITY): SessionAssigner {
  positiveInt(gap, 'gap', 'session');
  if (maxDuration !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxDuration) || maxDuration < gap)) {
    throw new ConfigError(`session window \`maxDuration\` must be an integer ≥ \`gap\`, got ${maxDuration}`, {
      field: 'maxDuration',
    });
  }
  return Object.freeze({
    kind: 'session' as const,
    merging: true,
    gap,
    maxDuration,
    assign: (ts: number): TimeWindow[] => [{ start: ts, end: ts + gap }],
    latestEnd: (ts: number) => ts + gap,
  });
}

/** Two windows merge when they overlap or touch (`a.start <= b.end && a.end >= b.start`). */
export function windowsTouch(a: TimeWindow, b: TimeWindow): boolean {
  return a.start <= b.end && a.end >= b.start;
}

/** The assigner for a topology window spec. */
export function assignerFor(spec: WindowSpec): SlidingAssigner | SessionAssigner {
  switch (spec.type) {
    case 'tumbling':
      return tumblingAssigner(spec.size, spec.offset ?? 0);
    case 'sliding':
      return slidingAssigner(spec.size, spec.slide, spec.offset ?? 0);
    case 'session':
      return sessionAssigner(spec.gap, spec.maxDuration ?? Number.POSITIVE_INFINITY);
  }
}
