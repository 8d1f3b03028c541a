/**
 * A binary min-heap of event-time timers, ordered by (time, kind, key, window start) so that
 * timers fire in a deterministic order.
 */
export interface Timer {
  readonly time: number;
  /** 0 = fire, 1 = clean up (at the same time, firing comes first). */
  readonly kind: 0 | 1;
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

function less(a: Timer, b: Timer): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.kind !== b.kind) return a.kind < b.kind;
  if (a.key !== b.key) return a.key < b.key;
  return a.start < b.start;
}

export class TimerHeap {
  private readonly items: Timer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Timer | undefined {
    return this.items[0];
  }

  push(t: Timer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Timer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
