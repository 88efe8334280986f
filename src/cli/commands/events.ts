/** `taskq events`: prints the event stream from a cursor; --follow keeps printing until Ctrl-C. */
import { Command, InvalidArgumentError } from 'commander';
import { ExitCode } from '../../errors.js';
import { EVENTS_MISSED, EventReader, type EventCursor } from '../../events/event-reader.js';
import { EVENT_TYPES, parseEntry, type TaskqEvent } from '../../events/event-types.js';
import { closestName } from '../../core/option-names.js';
import { eventFilter, type EventFilterOptions } from '../../events/event-filter.js';
import type { Redis } from '../../broker/redis-factory.js';
import { appFor, appBrokerOptions, type CliIo } from '../context.js';
import { positiveInt } from '../parse.js';
import { aliveNodes } from '../../core/queue-admin.js';
import { eventText, json, noTaskEventsHint } from '../presenter.js';

/** `--from`: a stream id (1700000000000-0), 0 (start of retention), $ (new only), or a time. */
export function parseFrom(value: string): EventCursor {
  if (value === '0' || value === '$' || /^\d+-\d+$/.test(value)) return value;
  if (/^\d{10,}$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`expected a stream id, 0, $, ms since the epoch or an ISO time, got "${value}"`);
  return new Date(ms);
}

interface EventsOptions extends Omit<EventFilterOptions, 'types'> {
  type?: string[];
  broker?: string;
  prefix?: string;
  follow?: boolean;
  from?: EventCursor;
  count?: number;
  json?: boolean;
}

/** The newest `count` events that `wanted` keeps, oldest first: pages backwards through the stream. */
async function latestMatching(client: Redis, key: string, count: number, wanted: (e: TaskqEvent) => boolean): Promise<TaskqEvent[]> {
  const found: TaskqEvent[] = [];
  let end = '+';
  while (found.length < count) {
    const page = (await client.xrevrange(key, end, '-', 'COUNT', 500)) as Array<[string, string[]]>;
    for (const [id, fields] of page) {
      const e = parseEntry(id, fields);
      if (wanted(e) && found.push(e) >= count) break;
    }
    if (page.length < 500) break;
    end = `(${page[page.length - 1]![0]}`;
  }
  return found.reverse();
}

async function runEvents(options: EventsOptions, io: CliIo): Promise<number> {
  const app = await appFor(options, io);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const client = await app.redis.connected('blocking', 'events');
    const nodes = await aliveNodes(app);
    // Task events are written only when asked (-E): say so rather than print nothing.
    if (nodes.length && nodes.every((n) => n.taskEvents === false)) io.stderr(noTaskEventsHint(nodes.map((n) => n.node)));
    const reader = new EventReader(client, app.keys.events, options.from ?? (options.follow ? '$' : '0'));
    let printed = 0;
    const limit = options.count ?? Infinity;
    const { type, task, node, heartbeats } = options;
    const wanted = eventFilter({ ...(type ? { types: type } : {}), ...(task ? { task } : {}), ...(node ? { node } : {}), heartbeats: heartbeats ?? false });
    const print = (e: Parameters<typeof eventText>[0]): void => {
      if (!wanted(e)) return;
      io.stdout(options.json ? json(e) : eventText(e));
      printed++;
    };
    if (options.follow) {
      for await (const e of reader.follow(abort.signal)) {
        print(e);
        if (printed >= limit) break;
      }
    } else if (options.count !== undefined && options.from === undefined) {
      // `-n N` alone: the latest N events that pass the filters, oldest first (as tail).
      (await latestMatching(client, app.keys.events, options.count, wanted)).forEach(print);
    } else {
      while (printed < limit) {
        const batch = await reader.read({ count: Math.min(500, limit - printed) });
        if (!batch.length) break;
        batch.forEach(print);
      }
    }
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await app.close();
  }
}

export function eventsCommand(io: CliIo, exit: (code: number) => void): Command {
  return appBrokerOptions(new Command('events'))
    .description('print task and worker events from the durable event stream')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--from <cursor>', 'start after a stream id, or at a time; 0 = start of retention', parseFrom)
    .option('-n, --count <n>', 'print the latest N events (or N from --from)', positiveInt)
    .option('-t, --type <types>', 'only these event types, comma-separated; task-* for every task event', eventTypes)
    .option('--task <name>', 'only events of this task')
    .option('--node <name>', 'only events of this node (full or short name)')
    .option('--heartbeats', 'also show worker-heartbeat events (hidden by default)')
    .option('--json', 'one JSON object per line')
    .action(async (options: EventsOptions) => exit(await runEvents(options, io)));
}

/** `--type`: known types or `prefix*` patterns that match some; a typo would show nothing, silently. */
function eventTypes(value: string): string[] {
  const known: string[] = [...EVENT_TYPES, EVENTS_MISSED];
  const types = value.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of types) {
    const ok = t.endsWith('*') ? known.some((k) => k.startsWith(t.slice(0, -1))) : known.includes(t);
    if (ok) continue;
    const near = t.endsWith('*') ? undefined : closestName(t, known);
    throw new InvalidArgumentError(`no event type ${JSON.stringify(t)}${near ? ` (did you mean ${near}?)` : ''}; types: ${known.join(', ')}, or a prefix with * (task-*)`);
  }
  return types;
}
