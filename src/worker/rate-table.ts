/**
 * The rate limits a node hands to the take script ("task=intervalMs …"): each task's own `rateLimit`,
 * overridden by run-time changes in `<prefix>:rates` (app.setRateLimit). Refreshed at start, on a
 * `rate_limit` control message, and with every heartbeat (a missed message is caught up there).
 */
import type { Logger } from 'pino';
import type { Keys } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { parseRateLimit } from '../core/rate-limit.js';
import type { TaskDefinition } from '../core/task.js';

export class RateTable {
  /** The take script's argument; "" when no task is limited. */
  value = '';

  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
    private readonly tasks: ReadonlyMap<string, TaskDefinition>,
    private readonly log: Logger,
  ) {}

  async refresh(): Promise<void> {
    const overrides = await this.client.hgetall(this.keys.rates);
    const table: string[] = [];
    for (const def of this.tasks.values()) {
      let interval = def.rateIntervalMs;
      const override = overrides[def.name];
      if (override !== undefined) {
        try {
          interval = parseRateLimit(override, `rate limit of ${def.name} in ${this.keys.rates}`);
        } catch (err) {
          this.log.error({ err }, 'ignored an invalid run-time rate limit');
        }
      }
      if (interval) table.push(`${def.name}=${interval}`);
    }
    const next = table.join(' ');
    if (next !== this.value) this.log.info({ rates: next || 'none' }, 'rate limits');
    this.value = next;
  }
}
