/**
 * The bad-input policy: when an input is mostly dead letters, the likely cause is the input
 * itself (a CSV file, another schema, a producer that changed its payloads), not a few damaged
 * records — and going on would write nothing useful while reporting success. Like Kafka Streams'
 * choice of deserialization exception handler (log and continue, or fail), a run either goes on
 * counting dead letters or stops once their share passes a threshold.
 *
 * - A file run (`run --input`) stops by default: a share over `maxShare` (0.5) of the first
 *   1,000 lines, or of the whole input, ends it with exit 1 after committing what it read.
 * - A Kafka member shares its topic with other producers: by default it logs, counts and goes
 *   on; `--max-dead-letter-share` opts in to stopping on a share over a window of records.
 *
 * @example
 * const w = new DeadLetterWindow({ maxShare: 0.5, window: 1000 });
 * const over = w.add(1000, ['not_json', …]); // a DeadLetterShare when the window's share is over
 */
import { InputError } from '../shared/errors.js';

/** A threshold on the share of dead letters among the records read. */
export interface DeadLetterPolicy {
  /** Stop when dead letters / records read is above this (0–1; 1 never stops). */
  readonly maxShare: number;
  /** Records of the window the share is taken over (file runs: the first lines checked). */
  readonly window: number;
}

/** The default of file runs: over half of the first 1,000 lines or of the whole input. */
export const FILE_DEAD_LETTER_POLICY: DeadLetterPolicy = { maxShare: 0.5, window: 1000 };

/** What a check found over its records. */
export interface DeadLetterShare {
  readonly records: number;
  readonly deadLetters: number;
  readonly byReason: Readonly<Record<string, number>>;
}

/** Whether the share of `s` is above the policy's threshold (never for zero records). */
export function overShare(s: DeadLetterShare, policy: DeadLetterPolicy): boolean {
  return s.records > 0 && s.deadLetters / s.records > policy.maxShare;
}

/** The likely cause of dead letters of these reasons (the most frequent reason decides). */
export function likelyCause(byReason: Readonly<Record<string, number>>): string {
  const top = Object.entries(byReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
  switch (top) {
    case 'not_json':
      return 'not NDJSON events?';
    case 'unknown_type':
      return "events of another kind than the topology's schema (wrong --topology)?";
    case 'missing_field':
    case 'wrong_type':
    case 'out_of_range':
    case 'non_finite':
      return 'events of another schema version, or a producer that changed its payloads?';
    case 'bad_timestamp':
      return 'timestamps in another format than RFC 3339 or epoch milliseconds?';
    case 'oversize':
      return 'not line-delimited (one huge line)?';
    case 'unknown_schema':
    case 'bad_payload':
      return 'another payload format (--format) or schema registry?';
    default:
      return 'not the events this topology reads?';
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** `not_json 2, wrong_type 1`, most frequent first. */
export function reasonCounts(byReason: Readonly<Record<string, number>>): string {
  return Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([r, n]) => `${r} ${fmt(n)}`)
    .join(', ');
}

/**
 * The one-line error of a run stopped by the policy: what was read, the reason counts, the likely
 * cause, the threshold and what to do.
 *
 * @param what How the input is named, e.g. `--input events.csv` or `--topic events`.
 * @param over Which records the share is over, e.g. `the first 1,000 lines` or `the whole input`.
 */
export function deadLetterShareError(
  what: string,
  s: DeadLetterShare,
  policy: DeadLetterPolicy,
  over: string,
  unit = 'lines',
): InputError {
  const pct = Math.round((100 * s.deadLetters) / s.records);
  return new InputError(
    `${what}: ${fmt(s.deadLetters)} of ${fmt(s.records)} ${unit} are dead letters (${reasonCounts(s.byReason)}) — ` +
      `${likelyCause(s.byReason)} ${pct}% of ${over} is above --max-dead-letter-share ${policy.maxShare}; ` +
      'stopped after committing what was read: check the input, or run again with a higher ' +
      '--max-dead-letter-share (1 accepts any share)',
    { field: '--max-dead-letter-share' },
  );
}

/**
 * Counts records and dead letters over consecutive windows of `policy.window` records (a Kafka
 * member's opt-in check): `add` returns the window's figures when a window that is complete has a
 * share above the threshold, else null; each complete window starts the next from zero.
 */
export class DeadLetterWindow {
  private records = 0;
  private byReason: Record<string, number> = {};
  private dead = 0;

  constructor(readonly policy: DeadLetterPolicy) {}

  /** Adds `records` records read, of which `reasons` are the dead letters' reason codes. */
  add(records: number, reasons: readonly string[]): DeadLetterShare | null {
    this.records += records;
    this.dead += reasons.length;
    for (const r of reasons) this.byReason[r] = (this.byReason[r] ?? 0) + 1;
    if (this.records < this.policy.window) return null;
    const s: DeadLetterShare = { records: this.records, deadLetters: this.dead, byReason: this.byReason };
    this.records = 0;
    this.dead = 0;
    this.byReason = {};
    return overShare(s, this.policy) ? s : null;
  }
}

/**
 * A file run's check of its first `policy.window` lines: dead letters among them are counted (in
 * `byReason`, kept with the checkpoint's counters), and once the position has passed them the
 * share is checked once.
 */
export class HeadCheck {
  private checked = false;
  private readonly lines: number;

  constructor(
    private readonly policy: DeadLetterPolicy | null,
    private readonly byReason: Record<string, number>,
    private readonly input: string,
  ) {
    this.lines = policy?.window ?? 0;
  }

  /** A dead letter at line `line` (0-based). */
  deadLetter(line: number, reason: string): void {
    if (line < this.lines) this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
  }

  /** Once `line` lines are read: the error when the first lines are over the share, else null. */
  over(line: number): InputError | null {
    if (this.policy === null || this.checked || line < this.lines) return null;
    this.checked = true;
    const dead = Object.values(this.byReason).reduce((a, b) => a + b, 0);
    const share = { records: this.lines, deadLetters: dead, byReason: this.byReason };
    return overShare(share, this.policy)
      ? deadLetterShareError(
          `--input ${this.input}`,
          share,
          this.policy,
          `the first ${this.lines.toLocaleString('en-US')} lines`,
        )
      : null;
  }
}

/** The error when the dead letters of the whole input are over the policy's share, else null. */
export function overWhole(
  policy: DeadLetterPolicy | null,
  counters: { readonly eventsRead: number; readonly deadLettersByReason: Record<string, number> },
  input: string,
): InputError | null {
  if (policy === null) return null;
  const whole = {
    records: counters.eventsRead,
    deadLetters: Object.values(counters.deadLettersByReason).reduce((a, b) => a + b, 0),
    byReason: counters.deadLettersByReason,
  };
  return overShare(whole, policy)
    ? deadLetterShareError(`--input ${input}`, whole, policy, 'the whole input')
    : null;
}
