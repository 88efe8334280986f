/** `taskq worker`: runs one worker node in the foreground until a signal stops it. */
import { Command, Option } from 'commander';
import { defaults } from '../../defaults.js';
import { ExitCode, OptionError } from '../../errors.js';
import { acquirePidfile, releasePidfile } from '../../multi/pidfile.js';
import { expandNodeName } from '../../multi/node-name.js';
import { WorkerNode } from '../../worker/worker-node.js';
import { wantsHumanLogs } from '../../worker/log-format.js';
import { appFor, brokerOptions, type CliIo } from '../context.js';
import { autoscaleRange, concurrency, existingDirectory, logLevel, nonNegativeNumber, optimization, poolName, positiveInt, positiveNumber, queueList, umask } from '../parse.js';
import { workerBanner } from '../presenter.js';
import { workerNodeOptions, type WorkerCliOptions } from '../worker-node-options.js';
import { runDetached } from './worker-detach.js';
import { openLogger } from '../node-log.js';
import { handleWorkerSignals } from './worker-signals.js';
import { execSelf } from '../../worker/native.js';
import { BeatService } from '../../beat/beat-service.js';
import { dropPrivileges, resolveIdentity } from '../../multi/identity.js';
import { userTaskNames } from '../../core/canvas/frozen.js';

interface WorkerOptions extends WorkerCliOptions {
  broker?: string;
  prefix?: string;
  hostname?: string;
  pidfile?: string;
  detach?: boolean;
  workdir?: string;
  umask?: number;
  uid?: string;
  gid?: string;
  beat?: boolean;
}

async function runWorker(options: WorkerOptions, io: CliIo, concurrencyGiven: boolean): Promise<number> {
  // First of all: everything the node creates (pidfile, logs) is then its user's.
  dropPrivileges(resolveIdentity(options.uid, options.gid));
  if (options.umask !== undefined) process.umask(options.umask);
  if (options.workdir) process.chdir(options.workdir);
  if (options.timeLimit !== undefined && options.softTimeLimit !== undefined && options.softTimeLimit >= options.timeLimit) {
    throw new OptionError(`--soft-time-limit (${options.softTimeLimit} s) must be below --time-limit (${options.timeLimit} s): the soft limit warns the task before the hard one stops it`);
  }
  const { log, reopen } = openLogger(options, io);
  const app = await appFor(options, io);
  const name = expandNodeName(options.hostname ?? `worker${process.pid}@%h`);
  const humanChildLogs = !options.logfile && wantsHumanLogs(io.env, process.stderr.isTTY);
  const node = new WorkerNode(app, workerNodeOptions(options, { name, logger: log, cwd: io.cwd, concurrencyGiven, humanChildLogs }));
  if (options.pidfile) acquirePidfile(options.pidfile);
  const signals = handleWorkerSignals(node, log, options.shutdownTimeout * 1000, reopen);
  // -B: a beat inside this node. Safe on every node: one leads, the others stand by (Celery's -B on
  // two workers sends everything twice).
  const beat = options.beat ? new BeatService(app, log, { name: `beat:${name}` }) : undefined;
  try {
    await node.start();
    await beat?.start();
    // A supervisor (taskq up, taskq multi) that started this node over IPC learns it is consuming.
    if (process.connected) process.send?.({ type: 'ready', node: name, pid: process.pid }, undefined, {}, () => {});
    io.stderr(workerBanner({ node: name, pid: process.pid, broker: app.redis.display, app: options.app, tasks: userTaskNames(app.tasks), queues: node.queues, concurrency: node.concurrency, taskEvents: node.taskEvents }));
    await node.closed;
  } finally {
    signals.dispose();
    await beat?.stop();
    await node.stop();
    await app.close();
    // Restarting in place keeps the pidfile: the pid stays the same.
    if (options.pidfile && !signals.outcome.restart) releasePidfile(options.pidfile);
    log.flush?.();
  }
  if (signals.outcome.restart) {
    log.info('re-executing');
    execSelf();
  }
  return signals.outcome.cold ? ExitCode.failure : ExitCode.ok;
}

/** Adds the worker's options to `cmd` (taskq multi checks each node's arguments with them). */
export function withWorkerOptions(cmd: Command): Command {
  return brokerOptions(cmd)
    .requiredOption('-A, --app <module>', 'module exporting the app whose tasks this node runs (default export or `app`)')
    .option('-Q, --queues <q1,q2>', "queues to consume (default: every queue the app's tasks use)", queueList)
    .option('-c, --concurrency <n>', `jobs run at once (1–${defaults.maxConcurrency})`, concurrency, defaults.concurrency)
    .option('-E, --task-events', "write task events (Celery's -E; default: the app's taskEvents, TASKQ_TASK_EVENTS): monitors and the web UI show tasks from them")
    .option('-n, --hostname <name>', 'node name; %h host, %n short host, %d domain (default worker<pid>@%h)')
    .addOption(new Option('-l, --loglevel <level>', 'log level').default('info').argParser(logLevel))
    .option('--logfile <file>', 'log to this file instead of stderr; %I becomes -<index> in pool children (one file each)')
    .option('--pidfile <file>', 'write the pid here; refuse to start if a live node holds it')
    .addOption(new Option('-P, --pool <kind>', 'where task code runs: async (this event loop), threads or processes (killable); Celery\'s prefork = processes, solo = async with one slot').argParser(poolName).default('async'))
    .option('--prefetch-multiplier <n>', 'hold up to n-1 jobs per slot beyond the running ones (Celery\'s; default: adaptive)', positiveInt)
    .option('-O, --optimization <profile>', 'fair: hold no jobs beyond the free slots (Celery\'s -O fair); default: adaptive prefetch', optimization)
    .option('--autoscale <max,min>', 'grow to max slots (children) under load, shrink to min when idle; replaces -c', autoscaleRange)
    .option('--max-tasks-per-child <n>', 'recycle a pool child after this many tasks', positiveInt)
    .option('--max-memory-per-child <KiB>', "recycle a pool child when, after a task, it uses more memory (a process's RSS, a thread's heap)", positiveInt)
    .option('--time-limit <s>', 'hard time limit of tasks that set none (seconds)', positiveNumber)
    .option('--soft-time-limit <s>', 'soft time limit of tasks that set none (seconds): ctx.signal aborts', positiveNumber)
    .option('--shutdown-timeout <s>', 'warm shutdown waits this long for running jobs', nonNegativeNumber, defaults.shutdownTimeoutMs / 1000)
    .option('-D, --detach', 'run as a daemon: return once the node consumes (its pid is printed), logging to --logfile')
    .option('--workdir <dir>', 'the directory the node works in (-A is found there)', existingDirectory)
    .option('--umask <octal>', 'file mode mask of the files the node creates, e.g. 027', umask)
    .option('-B, --beat', "also run a beat in this node (the app's beatSchedule); safe on several nodes: one leads")
    .option('--uid <user>', 'run as this user (name or number); only when started as root')
    .option('--gid <group>', "run as this group (default: the --uid user's own)");
}

export function workerCommand(io: CliIo, exit: (code: number) => void): Command {
  return withWorkerOptions(new Command('worker'))
    .description('run a worker node: consume queues and execute tasks until TERM/INT')
    .action(async (options: WorkerOptions, cmd: Command) => {
      if (options.detach) return exit(await runDetached(rawWorkerArgs(cmd), options, io));
      exit(await runWorker(options, io, cmd.getOptionValueSource('concurrency') !== 'default'));
    });
}

/** The words given after `worker` on the command line. */
function rawWorkerArgs(cmd: Command): string[] {
  // commander keeps the words it parsed on the root command (not in its typings).
  const raw = (cmd.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs ?? [];
  return raw.slice(raw.indexOf(cmd.name()) + 1);
}
