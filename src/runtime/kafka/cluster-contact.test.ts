import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ClusterContact } from './cluster-contact.js';

function logged(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => lines.push(JSON.parse(s) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

describe('ClusterContact', () => {
  it('is fresh until the timeout passes without contact, then warns once', () => {
    let t = 1000;
    const { logger, lines } = logged();
    const c = new ClusterContact(5000, logger, () => t);
    t += 4999;
    c.check();
    expect(c.fresh).toBe(true);
    expect(lines).toEqual([]);
    t += 1;
    expect(c.fresh).toBe(false);
    c.check();
    c.check();
    expect(lines.map((l) => [l.level, l.msg.slice(0, 40)])).toEqual([
      [40, 'no contact with the kafka cluster for lo'],
    ]);
  });

  it('contact makes it fresh again and says so once', () => {
    let t = 0;
    const { logger, lines } = logged();
    const c = new ClusterContact(5000, logger, () => t);
    t = 6000;
    c.check();
    c.seen();
    c.seen();
    expect(c.fresh).toBe(true);
    expect(lines.map((l) => l.msg)).toContain('in contact with the kafka cluster again');
    expect(lines.length).toBe(2);
    // Contact before the timeout is silent.
    t += 3000;
    c.seen();
    c.check();
    expect(lines.length).toBe(2);
  });
});
