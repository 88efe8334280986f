/** `taskq events`: prints the event stream from a cursor; --follow keeps printing until Ctrl-C. */
import { Command, InvalidArgumentError } from 'commander';
import { ExitCode } from '../../errors.js';
import { EventReader, type EventCursor } from '../../events/event-reader.js';
import { parseEntry } from '../../events/event-types.js';
import { appFor, brokerOptions, type CliIo } from '../context.js';
import { positiveInt } from '../parse.js';
import { eventText, json } from '../presenter.js';

/** `--from`: a stream id (1700000000000-0), 0 (start of retention), $ (new only), or a time. */
export function parseFrom(value: string): EventCursor {
  if (value === '0' || value === '$' || /^\d+-\d+$/.test(value)) return value;
  if (/^\d{10,}$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`expected a stream id, 0, $, ms since the epoch or an ISO time, got "${value}"`);
  return new Date(ms);
}

interface EventsOptions {
  broker?: string;
  prefix?: string;
  follow?: boolean;
  from?: EventCursor;
  count?: number;
  json?: boolean;
}

export function eventsCommand(io: CliIo, exit: (code: number) => void): Command {
  return brokerOptions(new Command('events'))
    .description('print task and worker events from the durable event stream')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--from <cursor>', 'start after a stream id, or at a time; 0 = start of retention', parseFrom)
    .option('-n, --count <n>', 'print the latest N events (or N from --from)', positiveInt)
    .option('--json', 'one JSON object per line')
    .action(async (options: EventsOptions) => {
      const app = await appFor(options, io);
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const client = await app.redis.connected('blocking', 'events');
        const reader = new EventReader(client, app.keys.events, options.from ?? (options.follow ? '$' : '0'));
        let printed = 0;
        const limit = options.count ?? Infinity;
        const print = (e: Parameters<typeof eventText>[0]): void => {
          io.stdout(options.json ? json(e) : eventText(e));
          printed++;
        };
        if (options.follow) {
          for await (const e of reader.follow(abort.signal)) {
            print(e);
            if (printed >= limit) break;
          }
        } else if (options.count !== undefined && options.from === undefined) {
          // `-n N` alone: the latest N events, oldest first (as tail).
          const latest = (await client.xrevrange(app.keys.events, '+', '-', 'COUNT', options.count)) as Array<[string, string[]]>;
          latest.reverse().forEach(([id, fields]) => print(parseEntry(id, fields)));
        } else {
          while (printed < limit) {
            const batch = await reader.read({ count: Math.min(500, limit - printed) });
            if (!batch.length) break;
            batch.forEach(print);
          }
        }
        exit(ExitCode.ok);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await app.close();
      }
    });
}
