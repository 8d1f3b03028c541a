import { describe, expect, it } from 'vitest';
import { CLAIM_KEY, ChangelogFold, type ChangelogRecord, MARKER_KEY } from './changelog.js';

let offset = 0;
const entry = (key: string, value: string | null, epoch: number): ChangelogRecord => ({
  offset: offset++,
  key,
  value,
  epoch,
});
const marker = (id: number, epoch: number): ChangelogRecord =>
  entry(MARKER_KEY, JSON.stringify({ id, meta: `{"position":${id}}` }), epoch);
const claim = (epoch: number): ChangelogRecord => entry(CLAIM_KEY, JSON.stringify({ epoch }), epoch);

function fold(records: ChangelogRecord[], epoch = 0) {
  const f = new ChangelogFold(epoch);
  for (const r of records) f.add(r);
  return f.result();
}

describe('ChangelogFold', () => {
  it('keeps what precedes the last marker, later values winning; a tombstone deletes', () => {
    const r = fold([
      claim(1),
      entry('w/a', '1', 1),
      entry('w/b', '1', 1),
      marker(1, 1),
      entry('w/a', '2', 1),
      entry('w/b', null, 1),
      marker(2, 1),
    ]);
    expect(r.marker?.id).toBe(2);
    expect(r.marker?.meta).toBe('{"position":2}');
    expect([...r.committed]).toEqual([
      ['w/a', '2'],
      ['w/b', null],
    ]);
    expect(r.repairKeys.size).toBe(0);
    expect(r.epoch).toBe(1);
  });

  it('ignores entries after the last marker (a checkpoint that never completed) and repairs their keys', () => {
    const r = fold([
      claim(1),
      entry('w/a', '1', 1),
      marker(1, 1),
      entry('w/a', 'half', 1),
      entry('w/c', 'half', 1),
    ]);
    expect(r.marker?.id).toBe(1);
    expect(r.committed.get('w/a')).toBe('1');
    expect(r.committed.has('w/c')).toBe(false);
    expect([...r.repairKeys].sort()).toEqual(['w/a', 'w/c']);
  });

  it('fences a previous owner: its writes after a newer claim are ignored', () => {
    const r = fold([
      claim(1),
      entry('w/a', '1', 1),
      marker(1, 1),
      entry('w/a', 'pending-of-1', 1),
      claim(2), // a new owner took over: owner 1's pending entries die
      entry('w/a', 'late-zombie', 1),
      marker(7, 1), // owner 1 did not notice and completed a checkpoint: ignored
      entry('w/b', '2', 2),
      marker(2, 2),
    ]);
    expect(r.marker?.id).toBe(2);
    expect(r.marker?.epoch).toBe(2);
    expect(r.committed.get('w/a')).toBe('1');
    expect(r.committed.get('w/b')).toBe('2');
    expect(r.repairKeys.has('w/a')).toBe(true);
    expect(r.epoch).toBe(2);
  });

  it('starts from a known epoch (local state): older records are fenced', () => {
    const r = fold([entry('w/a', 'old', 1), marker(9, 1)], 3);
    expect(r.marker).toBeNull();
    expect(r.committed.size).toBe(0);
    expect(r.repairKeys.has('w/a')).toBe(true);
  });
});
