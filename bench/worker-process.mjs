/** Parent side of bench/worker.mjs: fork it, wait for its messages, stop it (SIGKILL if it hangs). */
import { fork } from 'node:child_process';
import { once } from 'node:events';

const STOP_GRACE_MS = 10_000;
const WORKER = new URL('./worker.mjs', import.meta.url);

/**
 * Forks a worker. `signal` (the watchdog's) kills it. Returns {ready, done, stop}: `ready` and
 * `done` are promises of its IPC messages; both reject if it errors or exits first.
 */
export function startWorker(cfg, signal) {
  // BENCH_WORKER_ARGS: node flags for the worker process only, to profile it (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
  const execArgv = process.env.BENCH_WORKER_ARGS ? process.env.BENCH_WORKER_ARGS.split(' ') : undefined;
  const child = fork(WORKER, [JSON.stringify(cfg)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const waiters = { ready: [], done: [] };
  const ready = new Promise((resolve, reject) => waiters.ready.push({ resolve, reject }));
  const done = new Promise((resolve, reject) => waiters.done.push({ resolve, reject }));
  const failAll = (err) => {
    for (const list of Object.values(waiters)) for (const w of list.splice(0)) w.reject(err);
  };
  child.on('message', (msg) => {
    if (msg.type === 'error') failAll(new Error(msg.message));
    for (const w of (waiters[msg.type] ?? []).splice(0)) w.resolve(msg);
  });
  child.on('exit', (code, sig) => failAll(new Error(`${cfg.system} worker exited early (code ${code}, signal ${sig})`)));
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  signal?.addEventListener('abort', kill, { once: true });
  ready.catch(() => {});
  done.catch(() => {});

  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      signal?.removeEventListener('abort', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => {
        process.emitWarning(`${cfg.system} worker did not stop within ${STOP_GRACE_MS} ms; killing it`);
        kill();
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    })());
  return { ready, done, stop };
}
