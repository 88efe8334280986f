/**
 * What operators type by reflex from Celery: `-A proj` (and `-b`) before the subcommand, and the
 * names of Celery commands taskq does not have, which then say what to use instead.
 */
import { Command } from 'commander';
import { OptionError } from '../errors.js';

const GLOBAL_WITH_VALUE = new Set(['-A', '--app', '-b', '--broker', '--prefix']);

/**
 * `taskq -A app.js worker -c 2` → `taskq worker -A app.js -c 2` (Celery's order); other lines
 * unchanged. For a command with subcommands (`nested`: dead, multi, …) they go after its
 * subcommand: `taskq -A app.js dead ls` → `taskq dead ls -A app.js`.
 */
export function hoistGlobalOptions(argv: readonly string[], nested: ReadonlySet<string> = new Set()): string[] {
  const hoisted: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] as string;
    const flag = a.split('=', 1)[0] as string;
    if (!GLOBAL_WITH_VALUE.has(flag)) break;
    const withValue = a.includes('=') ? [a] : [a, argv[i + 1] ?? ''];
    hoisted.push(...withValue);
    i += withValue.length;
  }
  if (!hoisted.length || i >= argv.length || (argv[i] as string).startsWith('-')) return [...argv];
  const sub = argv[i + 1];
  const at = nested.has(argv[i] as string) && sub !== undefined && !sub.startsWith('-') ? i + 2 : i + 1;
  return [...argv.slice(i, at), ...hoisted, ...argv.slice(at)];
}

/** Celery commands taskq has no twin of, and what to use instead. */
export const CELERY_ONLY: Record<string, string> = {
  report: '`taskq inspect stats` and `taskq inspect conf` (per node), `taskq status` (queues and nodes)',
  shell: '`node --input-type=module -e "import { createApp } from \'taskq\'"` or a REPL importing your app module',
  amqp: '`redis-cli` (taskq keys start with the key prefix, `taskq` by default)',
  list: '`taskq status` (queues and nodes)',
  migrate: 'Redis replication or `redis-cli --rdb` (there is one broker, Redis: nothing to migrate between)',
  graph: '`taskq inspect stats` and `taskq status`',
  logtool: 'the JSON log files (`--logfile`), e.g. with jq',
  upgrade: 'nothing: taskq reads no Celery settings',
};

/** Hidden commands for Celery's names: each exits 64 saying what to use instead. */
export function celeryOnlyCommands(): Command[] {
  return Object.entries(CELERY_ONLY).map(([name, instead]) =>
    new Command(name)
      .argument('[args...]')
      .allowUnknownOption()
      .helpOption(false)
      .action(() => {
        throw new OptionError(`taskq has no "${name}" command (Celery's). Instead: ${instead}`);
      }),
  );
}
