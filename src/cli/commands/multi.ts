/**
 * `taskq multi start|stop|stopwait|restart|kill|show|names|get|expand|help`: several worker nodes on
 * this machine as daemons, with Celery's grammar (multi/multi-argv.ts). Every node's arguments are
 * checked with the worker's own option parsers before anything is started or signalled.
 */
import { Command } from 'commander';
import { hostname } from 'node:os';
import { ConfigError, ExitCode, OptionError } from '../../errors.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnvFile } from '../../multi/env-file.js';
import { defaults } from '../../defaults.js';
import { stopBudgetMs } from '../../multi/supervisor.js';
import { MULTI_OWN_OPTIONS, ownOption, parseMultiArgv, type MultiArgv } from '../../multi/multi-argv.js';
import { buildNodes, type MultiNode } from '../../multi/node-spec.js';
import { asRecorded, reloadNodes, restartNodes, startNodes, stopNodes, type NodeOutcome, type RestartProbe, type StopOptions } from '../../multi/cluster.js';
import { expandForNode } from '../../multi/templates.js';
import type { CliIo } from '../context.js';
import { createApp, type App } from '../../core/app.js';
import { nonNegativeNumber } from '../parse.js';
import { multiCommandLine, multiHelp, multiOutcomeText, multiSummary } from '../presenter-multi.js';
import { checkNodeArgv, workerOptionTable } from '../node-args.js';

const COMMANDS = ['start', 'stop', 'stopwait', 'restart', 'reload', 'kill', 'show', 'names', 'get', 'expand', 'help'] as const;
type MultiCommandName = (typeof COMMANDS)[number];

function stopOptions(argv: MultiArgv, signal: NodeJS.Signals, wait: boolean): StopOptions {
  const timeout = ownOption(argv, '--timeout');
  let timeoutMs = stopBudgetMs();
  if (timeout !== undefined) {
    try {
      timeoutMs = nonNegativeNumber(timeout) * 1000;
    } catch (err) {
      throw new OptionError(`--timeout ${timeout}: ${(err as Error).message} (seconds)`);
    }
  }
  return { signal: argv.signal ?? signal, wait, timeoutMs, kill: ownOption(argv, '--kill') !== undefined };
}

/** Worker options given on the line, other than the ones that only locate nodes. */
const LOCATORS = new Set(['--pidfile', '--logfile', ...MULTI_OWN_OPTIONS.map((o) => o.long)]);
function givesOptions(argv: MultiArgv): boolean {
  return argv.passthrough.length > 0 || argv.options.some((o) => !LOCATORS.has(o.key));
}

function exitCodeOf(command: MultiCommandName, outcomes: NodeOutcome[]): number {
  if (outcomes.some((o) => o.kind === 'failed' || o.kind === 'still-running')) return ExitCode.failure;
  if (command === 'start' && outcomes.some((o) => o.kind === 'already-running')) return ExitCode.cantCreate;
  return ExitCode.ok;
}

async function operate(command: MultiCommandName, argv: MultiArgv, nodes: MultiNode[], io: CliIo): Promise<number> {
  const quiet = ownOption(argv, '--quiet') !== undefined;
  const say = (t: string): void => (quiet ? undefined : io.stdout(t));
  const ctx = { cwd: io.cwd, env: io.env, onEvent: (o: NodeOutcome) => say(multiOutcomeText(o)) };
  if (ownOption(argv, '--verbose') !== undefined) for (const n of nodes) say(`  ${multiCommandLine(n)}\n`);
  let outcomes: NodeOutcome[];
  if (command === 'start') {
    say('> Starting nodes...\n');
    outcomes = await startNodes(nodes, ctx);
  } else if (command === 'reload') {
    say('> Reloading nodes (restart in place)...\n');
    const probe = restartProbe(io);
    try {
      outcomes = await reloadNodes(nodes, stopOptions(argv, 'SIGHUP', true).timeoutMs, probe.restartedSince, ctx);
    } finally {
      await probe.close();
    }
  } else if (command === 'restart') {
    say('> Restarting nodes...\n');
    outcomes = await restartNodes(nodes, stopOptions(argv, 'SIGTERM', true), ctx);
  } else {
    say('> Stopping nodes...\n');
    const options = command === 'kill' ? { ...stopOptions(argv, 'SIGKILL', false), signal: 'SIGKILL' as const } : stopOptions(argv, 'SIGTERM', command === 'stopwait');
    outcomes = await stopNodes(nodes, options, ctx);
  }
  if (!quiet) io.stdout(multiSummary(outcomes));
  return exitCodeOf(command, outcomes);
}

/** The value of a worker option in a node's arguments (`-b url`, `--broker=url`). */
function argValue(argv: readonly string[], short: string | undefined, long: string): string | undefined {
  let value: string | undefined;
  argv.forEach((a, i) => {
    if (a === long || (short && a === short)) value = argv[i + 1];
    else if (a.startsWith(`${long}=`)) value = a.slice(long.length + 1);
  });
  return value;
}

/** Asks a node over the broker (inspect stats) whether it runs an image started after `since`. */
function restartProbe(io: CliIo): { restartedSince: RestartProbe; close: () => Promise<void> } {
  const apps = new Map<string, App>();
  const appFor = (node: MultiNode): App => {
    const broker = argValue(node.argv, '-b', '--broker') ?? io.env.TASKQ_BROKER_URL;
    const keyPrefix = argValue(node.argv, undefined, '--prefix') ?? io.env.TASKQ_KEY_PREFIX;
    const key = `${broker} ${keyPrefix}`;
    if (!apps.has(key)) apps.set(key, createApp({ broker, keyPrefix }));
    return apps.get(key) as App;
  };
  return {
    restartedSince: async (node, since) => {
      const g = await appFor(node).control.inspect('stats', { destination: [node.name], timeoutMs: 300 });
      const r = g.replies[0];
      return r?.ok === true && Date.now() - r.result.uptimeMs >= since;
    },
    close: async () => void (await Promise.all([...apps.values()].map((a) => a.close()))),
  };
}

/** `--env-file worker.conf`: checked line by line (before anything starts); its variables reach every node. */
function withEnvFile(argv: MultiArgv, io: CliIo): CliIo {
  const file = ownOption(argv, '--env-file');
  if (file === undefined) return io;
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError('TASKQ_CONFIG_INVALID', `--env-file ${path}: ${(cause as Error).message}. Install it (cp worker.conf /etc/taskq/) or give another file.`, { cause });
  }
  return { ...io, env: { ...io.env, ...parseEnvFile(text, path) } };
}

async function runMulti(command: string | undefined, args: string[], io: CliIo): Promise<number> {
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    io.stdout(multiHelp(defaults));
    return ExitCode.ok;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new OptionError(`unknown multi command ${JSON.stringify(command)}; expected one of ${COMMANDS.join(', ')} (taskq multi help)`);
  }
  const name = command as MultiCommandName;
  // get and expand take one word first: the node, the template.
  const head = name === 'get' || name === 'expand' ? args[0] : undefined;
  if ((name === 'get' || name === 'expand') && head === undefined) throw new OptionError(`taskq multi ${name} needs ${name === 'get' ? 'a node name' : 'a template'} first, e.g. taskq multi ${name} ${name === 'get' ? 'w1' : '%n.log'} w1 w2`);
  const argv = parseMultiArgv(head === undefined ? args : args.slice(1), workerOptionTable());
  if (!argv.positionals.length) {
    const line = `taskq multi ${name}${head === undefined ? '' : ` ${shellWord(head)}`}`;
    throw new OptionError(`${line} needs the nodes${head === undefined ? '' : ` after the ${name === 'get' ? 'node to show' : 'template'}`}: name them (${line} w1 w2) or give a count (${line} 3)`);
  }
  io = withEnvFile(argv, io);
  const named = buildNodes(argv, hostname());
  // What start / restart would run: a node's recorded options unless the line gives its own.
  const runs = name === 'start' || name === 'restart' || name === 'reload' || name === 'show' || name === 'get';
  const line = { givesOptions: givesOptions(argv), givesLogfile: argv.options.some((o) => o.key === '--logfile') };
  const nodes = runs ? named.map((n) => asRecorded(n, line)) : named;
  if (runs) for (const n of nodes) checkNodeArgv(n);
  if (name === 'names') io.stdout(nodes.map((n) => `${n.name}\n`).join(''));
  else if (name === 'show') io.stdout(nodes.map((n) => `${multiCommandLine(n)}\n`).join(''));
  else if (name === 'expand') io.stdout(nodes.map((n) => `${expandForNode(head as string, n.name)}\n`).join(''));
  else if (name === 'get') {
    const node = nodes.find((n) => n.name === head || n.short === head);
    if (!node) throw new OptionError(`taskq multi get ${head}: no such node on this line (nodes: ${nodes.map((n) => n.name).join(', ')})`);
    io.stdout(`${multiCommandLine(node)}\n`);
  } else return operate(name, argv, nodes, io);
  return ExitCode.ok;
}

export function multiCommand(io: CliIo, exit: (code: number) => void): Command {
  return new Command('multi')
    .description('start, stop, restart several worker nodes as daemons, with Celery\'s multi syntax (taskq multi help)')
    .argument('[command]', COMMANDS.join('|'))
    .argument('[args...]', 'node names or a count, worker options (-c:1 2, -Q:1-3 a,b), -- passthrough, -SIGNAL')
    .passThroughOptions()
    .allowUnknownOption()
    .helpOption(false)
    .action(async (command: string | undefined, args: string[]) => exit(await runMulti(command, args, io)));
}

/** `word` as a shell would need it typed: quoted when it holds anything but plain characters. */
function shellWord(word: string): string {
  return /^[\w@%.,:/=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
