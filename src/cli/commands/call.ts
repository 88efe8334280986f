/** `taskq call`: sends a task by name; with --wait, prints its result. */
import { Command, Option } from 'commander';
import { ExitCode } from '../../errors.js';
import { aliveNodes } from '../../core/queue-admin.js';
import { userTaskNames } from '../../core/canvas/frozen.js';
import type { ApplyOptions, Priority } from '../../core/task.js';
import { brokerOptions, withApp, type CliIo } from '../context.js';
import { jsonArgs, jsonKwargs, nonNegativeInt, nonNegativeNumber } from '../parse.js';
import { json, resultText } from '../presenter.js';

interface CallOptions {
  app?: string;
  broker?: string;
  prefix?: string;
  countdown?: number;
  eta?: string;
  expires?: number;
  queue?: string;
  id?: string;
  retries?: number;
  priority?: Priority;
  kwargs?: Record<string, unknown>;
  wait?: boolean;
  timeout?: number;
  json?: boolean;
}

export function callCommand(io: CliIo, exit: (code: number) => void): Command {
  return brokerOptions(new Command('call'))
    .description('send a task by name (arguments as a JSON array) and print its id; --wait prints its result')
    .argument('<task>', 'task name')
    .argument('[args]', "JSON array of arguments, e.g. '[2, 3]'", jsonArgs, [])
    .option('-k, --kwargs <json>', `JSON object of keyword arguments, e.g. '{"y": 2}'`, jsonKwargs)
    .option('-A, --app <module>', 'module exporting the app (applies its routes)')
    .option('--countdown <s>', 'run no earlier than this many seconds from now', nonNegativeNumber)
    .option('--eta <time>', 'run no earlier than this ISO time')
    .option('--expires <s>', 'never start after this many seconds', nonNegativeNumber)
    .option('-Q, --queue <queue>', 'queue (overrides routes)')
    .addOption(new Option('-p, --priority <level>', 'priority within the queue').choices(['high', 'normal', 'low']))
    .option('--id <id>', 'task id (a duplicate of a queued id is a no-op)')
    .option('--retries <n>', 'retries for this call', nonNegativeInt)
    .option('-w, --wait', 'wait for the result and print it (exit 1 if the task failed)')
    .option('--timeout <s>', 'with --wait: give up after this many seconds (exit 75)', nonNegativeNumber)
    .option('--json', 'print JSON')
    .action(async (task: string, args: unknown[], options: CallOptions) => {
      await withApp(options, io, async (app) => {
        const apply: ApplyOptions = {};
        if (options.countdown !== undefined) apply.countdown = options.countdown;
        if (options.eta !== undefined) apply.eta = options.eta;
        if (options.expires !== undefined) apply.expires = options.expires;
        if (options.queue !== undefined) apply.queue = options.queue;
        if (options.id !== undefined) apply.jobId = options.id;
        if (options.retries !== undefined) apply.retries = options.retries;
        if (options.priority !== undefined) apply.priority = options.priority;
        if (options.app && !app.tasks.has(task)) {
          io.stderr(`taskq: warning: ${options.app} registers no task ${JSON.stringify(task)} (it has: ${userTaskNames(app.tasks).join(', ') || 'none'}); sending it anyway\n`);
        }
        const r = await app.send(task, args, options.kwargs ?? {}, apply);
        if (!options.wait) {
          io.stdout(options.json ? json({ id: r.id }) : `${r.id}\n`);
          return exit(ExitCode.ok);
        }
        // A wait nobody can end says so at once (no live node consumes the queue), then waits anyway.
        const queue = app.router.route(task, app.tasks.get(task)?.queue, options.queue);
        if (!(await aliveNodes(app)).some((n) => n.queues?.includes(queue))) {
          io.stderr(`taskq: note: no live worker node consumes queue ${JSON.stringify(queue)} now; waiting anyway (start one with -Q ${queue}${options.timeout === undefined ? ', or give --timeout' : ''})\n`);
        }
        await r.get({ timeout: (options.timeout ?? 0) * 1000, propagate: false });
        const rec = await r.info();
        io.stdout(options.json ? json(rec) : resultText(r.id, rec));
        exit(rec?.state === 'SUCCESS' ? ExitCode.ok : ExitCode.failure);
      });
    });
}
