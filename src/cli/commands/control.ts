/**
 * `taskq inspect <method>` and `taskq control <method> [args…]`: remote inspection and control of the
 * worker nodes (core/control-client.ts), every node or `-d node,…`, replies gathered for up to `-t`
 * seconds. No node replied → exit 69, as Celery.
 */
import { Command } from 'commander';
import { CONTROL_METHODS, INSPECT_METHODS, type ControlMethod, type InspectMethod } from '../../core/control-protocol.js';
import type { Gathered } from '../../core/control-client.js';
import type { App } from '../../core/app.js';
import { ExitCode, OptionError, TaskqError } from '../../errors.js';
import { appBrokerOptions, withApp, type BrokerOptions, type CliIo } from '../context.js';
import { positiveNumber } from '../parse.js';
import { json } from '../presenter.js';
import { gatheredJson, gatheredText } from '../presenter-control.js';

interface GatherOptions extends BrokerOptions {
  destination?: string[];
  timeout: number;
  json?: boolean;
}

function withGatherOptions(cmd: Command): Command {
  return appBrokerOptions(cmd)
    .option('-d, --destination <nodes>', 'only these nodes (comma-separated full names, e.g. w1@host)', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('-t, --timeout <s>', 'wait this long for replies at most (returns once every live node replied)', positiveNumber, 1)
    .option('--json', 'print JSON: {node: reply}');
}

function report(method: string, g: Gathered<unknown>, started: number, options: GatherOptions, io: CliIo): number {
  io.stdout(options.json ? json(gatheredJson(g)) : gatheredText(method, g, performance.now() - started));
  if (!g.replies.length) {
    const where = options.destination ? ` (asked ${options.destination.join(', ')})` : '';
    throw new TaskqError('TASKQ_NO_REPLY', `no nodes replied within ${options.timeout} s${where}: are workers running on this broker and key prefix? (taskq status lists them)`, { exitCode: ExitCode.unavailable });
  }
  return g.replies.every((r) => r.ok) ? ExitCode.ok : ExitCode.failure;
}

const num = (v: string | undefined, what: string): number => {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n)) throw new OptionError(`${what}: expected a number, got ${JSON.stringify(v)}`);
  return n;
};

/** The arguments each control method takes on the command line, as the request's `args`. */
async function controlArgs(method: ControlMethod, words: string[], app: App, terminate: boolean): Promise<Record<string, unknown>> {
  const [a, b] = words;
  switch (method) {
    case 'pool_grow':
    case 'pool_shrink':
      return { n: a === undefined ? 1 : num(a, method) };
    case 'autoscale':
      return { max: num(a, 'autoscale max'), min: b === undefined ? 1 : num(b, 'autoscale min') };
    case 'add_consumer':
    case 'cancel_consumer':
      if (!a) throw new OptionError(`${method} needs a queue name, e.g. taskq control ${method} q_download`);
      return { queue: a };
    case 'rate_limit':
      if (!a || !b) throw new OptionError('rate_limit needs a task and a rate, e.g. taskq control rate_limit download.fetch 10/m (none: the task\'s own)');
      await app.setRateLimit(a, b === 'none' ? null : (b as never)); // cluster-wide, in Redis; the nodes then re-read it
      return { task: a };
    case 'time_limit':
      if (!a) throw new OptionError('time_limit needs a task, a soft and a hard limit in seconds, e.g. taskq control time_limit analyze.page 10 20');
      return { task: a, soft: b === undefined ? null : num(b, 'soft limit'), hard: words[2] === undefined ? null : num(words[2], 'hard limit') };
    case 'revoke':
      if (!words.length) throw new OptionError('revoke needs task ids');
      for (const id of words) await app.revoke(id, { terminate }); // durable: recorded in Redis too
      return { ids: words, terminate };
    default:
      return {};
  }
}

export function inspectCommand(io: CliIo, exit: (code: number) => void): Command {
  return withGatherOptions(new Command('inspect'))
    .description(`ask the worker nodes: ${INSPECT_METHODS.join(', ')}`)
    .argument('<method>', INSPECT_METHODS.join('|'))
    .action(async (method: string, options: GatherOptions) => {
      if (!(INSPECT_METHODS as readonly string[]).includes(method)) throw new OptionError(`unknown inspect method ${JSON.stringify(method)}; expected one of ${INSPECT_METHODS.join(', ')}`);
      await withApp(options, io, async (app) => {
        const started = performance.now();
        const g = await app.control.inspect(method as InspectMethod, { timeoutMs: options.timeout * 1000, ...(options.destination ? { destination: options.destination } : {}) });
        exit(report(method, g, started, options, io));
      });
    });
}

export function controlCommand(io: CliIo, exit: (code: number) => void): Command {
  return withGatherOptions(new Command('control'))
    .description(`tell the worker nodes: ${CONTROL_METHODS.join(', ')}`)
    .argument('<method>', CONTROL_METHODS.join('|'))
    .argument('[args...]', 'the method\'s arguments (pool_grow [n], autoscale max [min], add_consumer queue, rate_limit task rate, time_limit task soft [hard], revoke id…)')
    .option('--terminate', 'revoke: also stop running tasks')
    .action(async (method: string, words: string[], options: GatherOptions & { terminate?: boolean }) => {
      if (!(CONTROL_METHODS as readonly string[]).includes(method)) throw new OptionError(`unknown control method ${JSON.stringify(method)}; expected one of ${CONTROL_METHODS.join(', ')}`);
      await withApp(options, io, async (app) => {
        const args = await controlArgs(method as ControlMethod, words, app, options.terminate ?? false);
        const started = performance.now();
        const g = await app.control.control(method as ControlMethod, args, { timeoutMs: options.timeout * 1000, ...(options.destination ? { destination: options.destination } : {}) });
        exit(report(method, g, started, options, io));
      });
    });
}
