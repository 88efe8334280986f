/**
 * `taskq up` (what `npm start` runs): an app's worker nodes on this machine, as configuration says —
 * `--node name=queues:concurrency` options with `-A`, or a layout file (`taskq-up.json`). Starts a
 * private redis-server under the state folder unless TASKQ_BROKER_URL names a broker; says what runs
 * where; Ctrl-C stops everything cleanly.
 */
import { Command, Option } from 'commander';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { hostname } from 'node:os';
import { LocalRedis } from '../../broker/local-redis.js';
import { ConfigError, ExitCode } from '../../errors.js';
import { layoutFromOptions, layoutToMultiArgs, parseLayoutFile, parseNodeOption, type NodeSpec, type UpLayout } from '../../multi/up-layout.js';
import { Supervisor, type RunningNode } from '../../multi/supervisor.js';
import { parseMultiArgv } from '../../multi/multi-argv.js';
import { buildNodes, type MultiNode } from '../../multi/node-spec.js';
import { preflight } from '../../multi/cluster.js';
import { taskqBin } from '../../multi/node-process.js';
import { expandIndex } from '../../worker/pool/log-file.js';
import { checkNodeArgv, workerOptionTable } from '../node-args.js';
import type { CliIo } from '../context.js';
import { upText, type UpInfo } from '../presenter.js';

interface UpOptions {
  beat?: boolean;
  stateDir: string;
  appendfsync: 'everysec' | 'always';
  app?: string;
  node: NodeSpec[];
  config: string;
  withParent?: boolean;
}

/** Calls `stop` once the process that started this one is gone (re-parented), checking every second. */
function whenParentGone(stop: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, 1000);
  timer.unref();
}

function layout(options: UpOptions, io: CliIo): UpLayout {
  if (options.node.length) {
    if (!options.app) throw new ConfigError('TASKQ_CONFIG_INVALID', '--node needs -A <module>: the app the nodes run');
    return { ...layoutFromOptions(options.app, options.node), ...(options.beat ? { beat: true } : {}) };
  }
  const file = resolve(io.cwd, options.config);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      'TASKQ_CONFIG_INVALID',
      `taskq up has no nodes to run: ${file} cannot be read (${(cause as Error).message}). Pass -A <module> --node name=queue1,queue2:concurrency …, or write that file ({"app": …, "nodes": [{"name", "queues", "concurrency"}]}).`,
      { cause },
    );
  }
  const fromFile = parseLayoutFile(text, file);
  return { ...fromFile, ...(options.app ? { app: options.app } : {}), ...(options.beat ? { beat: true } : {}) };
}

function summary(plan: UpLayout, nodes: MultiNode[], supervisor: Supervisor, broker: string, redisDir: string | undefined): UpInfo {
  return {
    broker,
    redisDir,
    ...(plan.tries ? { tries: plan.tries } : {}),
    nodes: supervisor.nodes.slice(0, nodes.length).map((n, i) => {
      const spec = plan.nodes[i] as NodeSpec;
      return { node: n.name, pid: n.pid, queues: spec.queues, concurrency: spec.concurrency, log: expandIndex((nodes[i] as MultiNode).logfile, 0) };
    }),
  };
}

/** How to run this taskq from `cwd`: ./bin/taskq in its repository, ./node_modules/taskq/bin/taskq in a project. */
function binFrom(cwd: string): string {
  const path = relative(cwd, process.argv[1] ?? 'taskq');
  return path.startsWith('..') || isAbsolute(path) ? (process.argv[1] ?? 'taskq') : `./${path}`;
}

/** Runs `taskq <argv>` to its end (a layout's "start" commands); its exit code and output. */
async function runOnce(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, [taskqBin, ...argv], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code: code ?? ExitCode.software, output: output.trim() };
}

/** What runUp starts, and where. */
interface Launch {
  plan: UpLayout;
  nodes: MultiNode[];
  appModule: string;
  state: string;
  broker: string;
  redis: LocalRedis | undefined;
  env: Record<string, string>;
  uiToken: string;
  supervisor: Supervisor;
}

/** Starts the nodes, the beat, the services and the start commands, in that order; what is running. */
async function startLayout(l: Launch, io: CliIo): Promise<UpInfo> {
  const { plan, supervisor, env, state } = l;
  for (const node of l.nodes) await supervisor.start(node, env);
  const info = summary(plan, l.nodes, supervisor, l.broker, l.redis ? join(state, 'redis') : undefined);
  info.bin = binFrom(io.cwd);
  if (plan.beat) {
    const log = join(state, 'logs', 'beat.log');
    const beat = await supervisor.start({ name: 'beat', short: 'beat', argv: ['-A', l.appModule, '-n', 'beat@%h', '--logfile', log, '--pidfile', join(state, 'run', 'beat.pid')], pidfile: join(state, 'run', 'beat.pid'), logfile: log }, env, 'beat');
    info.beat = { pid: beat.pid, log };
  }
  for (const svc of plan.services ?? []) {
    const running = await supervisor.start({ name: svc.name, short: svc.name, argv: svc.args, pidfile: '', logfile: '' }, { ...env, TASKQ_UI_TOKEN: l.uiToken }, svc.command);
    const url = running.url && svc.command === 'ui' ? `${running.url}/#token=${l.uiToken}` : running.url;
    (info.services ??= []).push({ name: svc.name, pid: running.pid, ...(url ? { url } : {}) });
  }
  for (const argv of plan.start ?? []) (info.started ??= []).push({ command: argv.join(' '), ...(await runOnce(argv, { ...io.env, ...env }, io.cwd)) });
  return info;
}

/**
 * Ctrl-C (or TERM) once: `first`, a warm stop (running tasks finish). Again — by habit, or npm passing
 * it on — `again`: cold. Either way the caller still waits for everything. Returns the unwatch.
 */
function stopSignals(first: () => void, again: () => void): () => void {
  let count = 0;
  const on = (): void => (++count === 1 ? first() : again());
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
}

/** Runs the layout until Ctrl-C (or a node dies); returns the exit code. */
async function runUp(options: UpOptions, io: CliIo): Promise<number> {
  const plan = layout(options, io);
  const appModule = resolve(io.cwd, plan.app);
  const state = resolve(io.cwd, options.stateDir);
  // The same node spec as `taskq multi start`, checked the same way before anything starts.
  const nodes = buildNodes(parseMultiArgv(layoutToMultiArgs(plan, appModule, state), workerOptionTable()), hostname());
  for (const n of nodes) checkNodeArgv(n);
  preflight(nodes);
  let redis: LocalRedis | undefined;
  let broker = io.env.TASKQ_BROKER_URL;
  if (!broker) {
    redis = new LocalRedis({ dir: join(state, 'redis'), ownProcessGroup: true, dieWithParent: true, appendfsync: options.appendfsync });
    await redis.start();
    broker = redis.url;
  }
  const supervisor = new Supervisor();
  let stop: () => void = () => {};
  const unwatch = stopSignals(() => stop(), () => {
    io.stderr('taskq up: stopping cold: running tasks go back to their queues now\n');
    supervisor.coldStop();
  });
  const stopped = new Promise<number>((done) => {
    stop = () => done(ExitCode.ok);
    // `npm start` killed, even by kill -9: nothing would be left to Ctrl-C the fleet.
    if (options.withParent) whenParentGone(stop);
    supervisor.once('exit', (node: RunningNode, code: number | null, signal: string | null) => {
      io.stderr(`taskq up: node ${node.name} exited (${signal ?? code}); stopping everything\n${node.output().slice(-2000)}`);
      done(ExitCode.software);
    });
  });
  let code: number = ExitCode.ok;
  try {
    // Everything up starts keeps its files under the state folder: the cache, the demo's videos.
    const env = { TASKQ_BROKER_URL: broker, TASKQ_CACHE_DIR: io.env.TASKQ_CACHE_DIR || join(state, 'cache'), TASKQ_DEMO_DIR: io.env.TASKQ_DEMO_DIR || join(state, 'demo') };
    // The web UI's token for this run, so the summary can print the URL that opens it.
    const uiToken = io.env.TASKQ_UI_TOKEN || randomBytes(18).toString('base64url');
    const info = await startLayout({ plan, nodes, appModule, state, broker, redis, env, uiToken, supervisor }, io);
    io.stdout(upText(info));
    code = await stopped;
    io.stdout('stopping…\n');
  } finally {
    await supervisor.stopAll();
    await redis?.stop();
    unwatch();
  }
  io.stdout('stopped\n');
  return code;
}

export function upCommand(io: CliIo, exit: (code: number) => void): Command {
  return new Command('up')
    .description("run an app's worker nodes here, as --node options or taskq-up.json say, on a private Redis unless TASKQ_BROKER_URL is set")
    .option('-A, --app <module>', 'the app module every node loads (overrides the layout file)')
    .option('--beat', 'also run one taskq beat (the app\'s beatSchedule); taskq-up.json says so with "beat": true')
    .option('--node <name=queues:concurrency>', 'a node to run, e.g. capture=q_pcap:1 (repeat it; replaces the layout file)', (v: string, all: NodeSpec[]) => [...all, parseNodeOption(v)], [] as NodeSpec[])
    .option('--config <file>', 'the layout file read when no --node is given', 'taskq-up.json')
    .option('--state-dir <dir>', 'where Redis data and logs go', '.state')
    .option('--with-parent', 'stop everything when the process that started taskq up goes (npm start uses it)')
    .addOption(
      new Option('--appendfsync <when>', 'private Redis: fsync the AOF every second (may lose the last second on a crash) or before every reply (loses nothing, slower)')
        .choices(['everysec', 'always'])
        .default('everysec')
        .env('TASKQ_REDIS_APPENDFSYNC'),
    )
    .action(async (options: UpOptions) => exit(await runUp(options, io)));
}
