import type { WindowNode } from '../topology/nodes.js';
import type { KeyedWindowBase } from './keyed-window-base.js';
import type { Operator } from './operator.js';
import { SessionWindowOperator } from './session-window.js';
import { SlidingWindowOperator } from './sliding-window.js';
import { assignerFor } from './window-assigner.js';

/** A window operator: the whole lifecycle of {@link KeyedWindowBase}, whatever its assigner. */
export type WindowOperator = Operator &
  Required<
    Pick<
      Operator,
      'attach' | 'restored' | 'beforeCheckpoint' | 'onStart' | 'onWatermark' | 'onTick' | 'onCheckpoint'
    >
  > & {
    /** The current watermark. */
    readonly watermark: number;
    /** Keys holding state. */
    readonly keyCount: number;
  };

/**
 * The window operator of a window node, for any assigner: the node's window spec gives the
 * assigner (`assignerFor`: tumbling, sliding or session), and the assigner's kind the state
 * layout — panes of gcd(size, slide) for the non-merging ones ({@link SlidingWindowOperator}),
 * a merging session list for sessions ({@link SessionWindowOperator}). Both compute windows only
 * through the assigner and share firing, lateness, revisions, late output, early firing and
 * checkpointing in {@link KeyedWindowBase}.
 *
 * @example
 * const op = createWindowOperator(perf5minNode, ['latency_ms', 'ok']);
 * op.processBatch(batch, out);
 */
export function createWindowOperator(node: WindowNode, fields: readonly string[]): WindowOperator {
  const assigner = assignerFor(node.window);
  const op = assigner.merging
    ? new SessionWindowOperator(node, fields)
    : new SlidingWindowOperator(node, fields);
  return op as unknown as WindowOperator;
}
