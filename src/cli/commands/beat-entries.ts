/**
 * `taskq beat ls|add|rm|enable|disable|run-now`: the schedule at run time (beat/entries.ts). The
 * leader sees a change within a second. `-A` names the app: its own entries, and the tasks an added
 * entry is checked against.
 */
import { Command, Option } from 'commander';
import { BeatEntries, type EntryInfo } from '../../beat/entries.js';
import { CATCH_UP } from '../../beat/schedule.js';
import type { BeatEntrySpec } from '../../core/beat-spec.js';
import { ExitCode, OptionError } from '../../errors.js';
import { brokerOptions, withApp, type BrokerOptions, type CliIo } from '../context.js';
import { jsonArgs } from '../parse.js';
import { json, table } from '../presenter.js';

type Opts = BrokerOptions & { json?: boolean };

const when = (t: number | undefined): string => (t === undefined ? '-' : new Date(t).toISOString().replace('.000Z', 'Z'));
const scheduleOf = (s: BeatEntrySpec): string => (s.cron ? `cron ${s.cron}${s.timezone ? ` (${s.timezone})` : ''}` : `every ${String(s.every)}`);

function lsText(list: EntryInfo[]): string {
  if (!list.length) return 'no beat entries (the app defines none, and none was added)\n';
  return table(['NAME', 'TASK', 'SCHEDULE', 'SOURCE', 'ENABLED', 'LAST', 'NEXT', 'TOTAL'], list.map((e) => [e.name, e.spec.task, scheduleOf(e.spec), e.source, e.enabled ? 'yes' : 'no', when(e.last), e.enabled ? when(e.next) : '-', e.total]));
}

/** Runs `fn` with the entries of the app named by -A (here or on `taskq beat`). */
function withEntries(io: CliIo, exit: (code: number) => void, fn: (entries: BeatEntries, options: Opts, ...rest: string[]) => Promise<string>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args.at(-1) as Command;
    const options = cmd.optsWithGlobals() as Opts;
    const words = args.slice(0, -2) as string[];
    if (!options.app) throw new OptionError(`taskq beat ${cmd.name()} needs -A <module>: the app whose schedule and tasks it works on`);
    await withApp(options, io, async (app) => {
      io.stdout(await fn(new BeatEntries(app), options, ...words));
      exit(ExitCode.ok);
    });
  };
}

function sub(name: string, description: string): Command {
  return brokerOptions(new Command(name)).description(description).option('-A, --app <module>', 'the app module (its beatSchedule and tasks)');
}

export function beatEntryCommands(io: CliIo, exit: (code: number) => void): Command[] {
  return [
    sub('ls', 'list the entries, app and run-time, with when each last and next fires')
      .option('--json', 'print JSON')
      .action(withEntries(io, exit, async (entries, o) => {
        const list = await entries.list();
        return o.json ? json(list) : lsText(list);
      })),
    sub('add', 'add a run-time entry (checked against the app\'s tasks)')
      .argument('<name>', 'entry name (letters, digits, _ . -)')
      .requiredOption('--task <task>', 'the task to send')
      .option('--every <interval>', 'every 30s, 5m, 1h… (or ms)')
      .option('--cron <expression>', 'node-cron expression, seconds optional')
      .option('--timezone <tz>', 'IANA timezone of --cron (default UTC)')
      .option('--args <json>', 'arguments as a JSON array', jsonArgs)
      .option('-Q, --queue <queue>', 'send to this queue instead of the task\'s')
      .addOption(new Option('--catch-up <policy>', 'slots missed while no beat ran').choices([...CATCH_UP]))
      .option('--replace', 'replace a run-time entry of that name')
      .action(withEntries(io, exit, async (entries, o, name) => {
        const x = o as Opts & { task: string; every?: string; cron?: string; timezone?: string; args?: unknown[]; queue?: string; catchUp?: 'none' | 'latest' | 'all'; replace?: boolean };
        const spec: BeatEntrySpec = { task: x.task, ...(x.every ? { every: /^\d+$/.test(x.every) ? Number(x.every) : x.every } : {}), ...(x.cron ? { cron: x.cron } : {}), ...(x.timezone ? { timezone: x.timezone } : {}), ...(x.args ? { args: x.args } : {}), ...(x.queue ? { options: { queue: x.queue } } : {}), ...(x.catchUp ? { catchUp: x.catchUp } : {}) };
        await entries.add(name as string, spec, { replace: x.replace ?? false });
        return `added ${name}: ${spec.task} ${scheduleOf(spec)}\n`;
      })),
    sub('rm', 'remove a run-time entry').argument('<name>').action(withEntries(io, exit, async (entries, _o, name) => {
      await entries.remove(name as string);
      return `removed ${name}\n`;
    })),
    sub('enable', 'turn an entry back on').argument('<name>').action(withEntries(io, exit, async (entries, _o, name) => {
      await entries.setDisabled(name as string, false);
      return `enabled ${name}\n`;
    })),
    sub('disable', 'turn an entry off (it keeps its state)').argument('<name>').action(withEntries(io, exit, async (entries, _o, name) => {
      await entries.setDisabled(name as string, true);
      return `disabled ${name}\n`;
    })),
    sub('run-now', 'send the entry\'s task now, outside its schedule').argument('<name>').action(withEntries(io, exit, async (entries, _o, name) => `sent ${await entries.runNow(name as string)}\n`)),
  ];
}
