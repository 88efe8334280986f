/**
 * The worker process of one measurement (forked by measure.mjs). argv[2] is JSON:
 *   {system, host, port, concurrency, expected, latency, prefetch?, taskEvents?}
 * IPC to the parent:
 *   {type:'ready'}                                   consuming has started
 *   {type:'done', firstStartMs, lastDoneMs, count, cpuUs, latenciesMs}
 *       first handler start and last recorded completion (nowMs clock), this process's CPU time
 *       between them (µs); with `latency`, the handler-start minus payload.sentAt of every job
 *   {type:'error', message}
 * IPC from the parent: {type:'stop'} stops the worker and exits.
 */
import { loadSystem } from './systems/index.mjs';
import { nowMs } from './util.mjs';

const cfg = JSON.parse(process.argv[2]);
const system = await loadSystem(cfg.system);
const latenciesMs = [];
let firstStartMs = null;
let cpuAtStart = null;
let lastDoneMs = null;
let done = 0;
let reported = false;

const onStart = (payload) => {
  const t = nowMs();
  if (firstStartMs === null) {
    firstStartMs = t;
    cpuAtStart = process.cpuUsage();
  }
  if (cfg.latency) latenciesMs.push(t - payload.sentAt);
};

const onDone = () => {
  lastDoneMs = nowMs();
  done++;
  if (done >= cfg.expected && !reported) {
    reported = true;
    const cpu = process.cpuUsage(cpuAtStart);
    process.send({ type: 'done', firstStartMs, lastDoneMs, count: done, cpuUs: cpu.user + cpu.system, latenciesMs });
  }
};

try {
  const handle = await system.worker({ host: cfg.host, port: cfg.port }, { concurrency: cfg.concurrency, prefetch: cfg.prefetch, taskEvents: cfg.taskEvents, onStart, onDone });
  process.on('message', async (msg) => {
    if (msg?.type !== 'stop') return;
    try {
      await handle.stop();
    } finally {
      process.disconnect();
      process.exit(0);
    }
  });
  process.send({ type: 'ready' });
} catch (err) {
  process.send({ type: 'error', message: `${cfg.system} worker failed to start: ${err.stack ?? err}` });
  process.exit(1);
}
