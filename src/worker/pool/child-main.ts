/**
 * Entry of a pool child, as a forked process or a worker thread: loads the app module, then runs the
 * jobs its parent node sends, one at a time, and reports results already serialised (so a value JSON
 * cannot carry is caught here, where it was made).
 */
import { errorInfo } from '../../broker/message.js';
import { retryRequest } from '../../core/retry-request.js';
import { getHeapStatistics } from 'node:v8';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { loadApp } from '../../core/load-app.js';
import { Retry, TaskqError, toError } from '../../errors.js';
import { checkCustomState } from '../../core/states.js';
import type { TaskContext } from '../../core/context.js';
import { toJson } from '../../core/serialize.js';
import type { FromChild, PoolInit, ToChild, WireError } from './protocol.js';
import { humanLogStream } from '../log-format.js';
import { optionalNativeHelper } from '../native.js';
import { constants as osConstants } from 'node:os';

const init: PoolInit = isMainThread ? (JSON.parse(process.env.TASKQ_POOL_INIT ?? '{}') as PoolInit) : (workerData as PoolInit);
const send = (msg: FromChild): void => {
  if (parentPort) parentPort.postMessage(msg);
  else process.send?.(msg);
};
const onMessage = (fn: (msg: ToChild) => void): void => {
  if (parentPort) parentPort.on('message', fn);
  else process.on('message', (m) => fn(m as ToChild));
};

// Threads share the process: report their own heap; processes report their resident set.
const memoryKb = (): number => Math.round((isMainThread ? process.memoryUsage().rss : getHeapStatistics().used_heap_size) / 1024);

function wire(err: Error): WireError {
  const out: WireError = { name: errorInfo(err).name, message: err.message };
  if (err.stack) out.stack = err.stack;
  if (err instanceof TaskqError) out.code = err.code;
  if (err instanceof Retry) {
    out.countdownMs = err.countdownMs ?? null;
    if (err.maxRetries !== undefined) out.maxRetries = err.maxRetries;
    if (err.cause instanceof Error) out.cause = { name: err.cause.name, message: err.cause.message, ...(err.cause.stack ? { stack: err.cause.stack } : {}) };
  }
  return out;
}

const destination = init.logfile
  ? pino.destination({ dest: init.logfile, sync: true, mkdir: true })
  : init.humanLogs
    ? humanLogStream((t) => process.stderr.write(t))
    : pino.destination({ dest: 2, sync: true });
const log = pino({ level: init.logLevel }, destination).child({ node: init.node, index: init.index });

const controllers = new Map<string, AbortController>();

if (isMainThread) {
  // The parent decides when a child ends ({type: 'exit'}, or SIGKILL). Ctrl-C in a terminal, or
  // systemd's stop, signal the whole process group: a child must not die under a running job then.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('SIGHUP', () => {});
  // No orphans: when the node dies (even kill -9) the kernel kills this child at once, even in the
  // middle of a task that never yields (the native helper's PR_SET_PDEATHSIG); without the helper,
  // the closed IPC channel ends it as soon as its event loop turns.
  process.on('disconnect', () => process.exit(0));
  const helper = optionalNativeHelper();
  if (helper && !helper.setParentDeathSignal(osConstants.signals.SIGKILL, Number(process.env.TASKQ_POOL_PARENT))) process.exit(0);
}

async function main(): Promise<void> {
  let app: Awaited<ReturnType<typeof loadApp>>;
  try {
    app = await loadApp(init.appModule);
  } catch (err) {
    send({ type: 'fatal', message: (err as Error).message });
    return;
  }
  onMessage((msg) => {
    if (msg.type === 'exit') process.exit(0);
    if (msg.type === 'reopen-logs') {
      (destination as { reopen?: () => void }).reopen?.();
      return;
    }
    if (msg.type === 'abort') {
      const err = new Error(msg.reason.message);
      err.name = msg.reason.name;
      controllers.get(msg.id)?.abort(err);
      return;
    }
    if (msg.type === 'run') void run(app, msg);
  });
  log.info({ thread: isMainThread ? undefined : 'worker' }, 'pool child ready');
  send({ type: 'ready', pid: process.pid });
}

async function run(app: Awaited<ReturnType<typeof loadApp>>, msg: Extract<ToChild, { type: 'run' }>): Promise<void> {
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  const def = app.tasks.get(msg.task);
  try {
    if (!def) throw new TaskqError('TASKQ_TASK_UNKNOWN', `task ${JSON.stringify(msg.task)} is not registered in ${init.appModule} (pool child ${init.index})`);
    const ctx: TaskContext = {
      id: msg.id,
      name: msg.task,
      attempt: msg.attempt,
      kwargs: msg.kwargs ?? {},
      queue: msg.queue,
      node: msg.node,
      signal: controller.signal,
      log: log.child({ task: msg.task, jobId: msg.id, attempt: msg.attempt }),
      progress: async (value) => send({ type: 'progress', id: msg.id, value }),
      updateState: async (state, meta) => send({ type: 'progress', id: msg.id, value: meta, state: checkCustomState(state) }),
      retry(options = {}): never {
        throw retryRequest(options);
      },
    };
    const value = await (def.bind ? def.handler(ctx, ...msg.args) : def.handler(...msg.args));
    const json = toJson(value, 'result', 'TASKQ_RESULT_UNSERIALIZABLE', `task ${msg.task} returned a value taskq cannot store`);
    send({ type: 'done', id: msg.id, ok: true, json, memoryKb: memoryKb() });
  } catch (thrown) {
    send({ type: 'done', id: msg.id, ok: false, error: wire(toError(thrown)), memoryKb: memoryKb() });
  } finally {
    controllers.delete(msg.id);
  }
}

void main();
