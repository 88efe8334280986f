/**
 * The queues a node consumes, one QueueConsumer each; remote control adds and cancels them while the
 * node runs (`add_consumer`, `cancel_consumer`). `queues` is the node's own list, changed in place.
 */
import type { QueueConsumer } from './queue-consumer.js';

export class ConsumerSet {
  readonly list: QueueConsumer[] = [];

  constructor(
    readonly queues: string[],
    private readonly make: (queue: string) => QueueConsumer,
    /** Records a queue in the broker's queue registry. */
    private readonly register: (queue: string) => Promise<unknown>,
  ) {}

  async startAll(): Promise<void> {
    for (const queue of this.queues) this.list.push(this.make(queue));
    await Promise.all(this.list.map((c) => c.start()));
  }

  /** Starts consuming `queue`; false if it already does. */
  async add(queue: string): Promise<boolean> {
    if (this.queues.includes(queue)) return false;
    const consumer = this.make(queue);
    await consumer.start();
    this.list.push(consumer);
    this.queues.push(queue);
    await this.register(queue);
    return true;
  }

  /** Stops taking from `queue` (jobs already taken run to the end); false if it did not. */
  async cancel(queue: string): Promise<boolean> {
    const consumer = this.list.find((c) => c.queue === queue);
    if (!consumer) return false;
    this.list.splice(this.list.indexOf(consumer), 1);
    this.queues.splice(this.queues.indexOf(queue), 1);
    await consumer.stopFetching();
    await consumer.close();
    return true;
  }
}
