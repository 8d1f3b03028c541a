import type { Logger } from 'pino';

/**
 * When a Kafka member last heard from its cluster: any answer a broker gave the group consumer
 * counts (fetches, heartbeats, joins; kafkajs heartbeats every heartbeat interval while it runs).
 * Past `timeoutMs` without any (the session timeout: by then the group coordinator has given the
 * member's partitions away, or no broker answers at all) the member is not ready, and says so
 * once in the log; it says so again when contact resumes. kafkajs keeps retrying meanwhile,
 * inside a batch (a produce to a broker that is gone) or around a crashed consumer.
 *
 * @example
 * const contact = new ClusterContact(30_000, logger);
 * consumer.on(consumer.events.REQUEST, () => contact.seen());
 * setInterval(() => contact.check(), 1000);
 * const ready = () => joined && contact.fresh;
 */
export class ClusterContact {
  private last: number;
  private lost = false;

  constructor(
    readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.last = now();
  }

  /** The cluster answered (a fetch, a heartbeat, a join). */
  seen(): void {
    this.last = this.now();
    if (this.lost) {
      this.lost = false;
      this.log.info('in contact with the kafka cluster again');
    }
  }

  /** Heard from the cluster within the timeout. */
  get fresh(): boolean {
    return this.now() - this.last < this.timeoutMs;
  }

  /** Logs a warning the first time the contact is older than the timeout (call it every second or so). */
  check(): void {
    if (this.lost || this.fresh) return;
    this.lost = true;
    this.log.warn(
      { silentMs: Math.round(this.now() - this.last), timeoutMs: this.timeoutMs },
      'no contact with the kafka cluster for longer than the session timeout: not ready; kafkajs keeps retrying',
    );
  }
}
