/**
 * Distinct strings numbered in first-seen order: how a batch's keys and attributes travel as
 * indices (`EncodedBranch.dict`) instead of one string per record.
 *
 * @example
 * const d = new StringDictionary();
 * d.id('gpt-4'); // 0
 * d.id('claude'); // 1
 * d.id('gpt-4'); // 0
 * d.strings; // ['gpt-4', 'claude']
 */
export class StringDictionary {
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();

  /** The index of `s`, added if new. */
  id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.push(s) - 1;
      this.index.set(s, i);
    }
    return i;
  }
}
