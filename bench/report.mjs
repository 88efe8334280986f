/** Turns the collected figures into the stdout table, the target checks and latest.json. */
import { mkdirSync, writeFileSync } from 'node:fs';

const ROWS = [
  ['enqueue serial (jobs/s)', (s) => s.enqueue.serial.jobsPerSec, 'int'],
  ['enqueue 100 in flight (jobs/s)', (s) => s.enqueue.inflight.jobsPerSec, 'int'],
  ['enqueue bulk (jobs/s)', (s) => s.enqueue.bulk.jobsPerSec, 'int'],
  ['process c=1 (jobs/s)', (s) => s.processing.c1.jobsPerSec, 'int'],
  ['process c=50 (jobs/s)', (s) => s.processing.c50.jobsPerSec, 'int'],
  ['latency p50 (ms, lower=better)', (s) => s.latency?.p50Ms, 'ms'],
  ['latency p99 (ms, lower=better)', (s) => s.latency?.p99Ms, 'ms'],
  ['Redis bytes/queued job (lower=better)', (s) => s.bytesPerJob, 'int'],
  ['cmds/job enqueue (lower=better)', (s) => s.cmdsPerJob.enqueue, 'cmd'],
  ['cmds/job process c=1', (s) => s.cmdsPerJob.processC1, 'cmd'],
  ['cmds/job process c=50', (s) => s.cmdsPerJob.processC50, 'cmd'],
  ['cmds/job enq+proc (worst c)', (s) => s.cmdsPerJob.total, 'cmd'],
  ['Redis CPU µs/job process c=50', (s) => s.processing.c50.redisCpuUsPerJob, 'cmd'],
  ['worker CPU µs/job process c=50', (s) => s.processing.c50.workerCpuUsPerJob, 'cmd'],
];

const FORMAT = {
  int: (v) => Math.round(v).toLocaleString('en-US'),
  ms: (v) => v.toFixed(2),
  cmd: (v) => v.toFixed(1),
};
const fmt = (v, kind) => (typeof v === 'number' && Number.isFinite(v) ? FORMAT[kind](v) : '–');
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const get = (sys, pick) => {
  try {
    return sys ? pick(sys) : undefined;
  } catch {
    return undefined;
  }
};

/** The table as text: one row per figure, one column per system, then the taskq ratios. */
export function table(systems) {
  const header = ['', 'taskq', 'bee-queue', 'BullMQ', 'taskq/bee', 'taskq/BullMQ'];
  const lines = [header];
  for (const [label, pick, kind] of ROWS) {
    const [t, b, m] = ['taskq', 'bee', 'bullmq'].map((k) => get(systems[k], pick));
    lines.push([label, fmt(t, kind), fmt(b, kind), fmt(m, kind), ratio(t, b), ratio(t, m)]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const render = (l) => l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [render(lines[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(render)].join('\n');
}

/** The targets, each {name, value, limit, ok} (ok null when a figure is missing). */
export function checkTargets(systems) {
  const t = systems.taskq;
  const v = (sys, pick) => get(sys, pick);
  const rel = (name, pick, other, min) => {
    const a = v(t, pick);
    const b = v(systems[other], pick);
    const value = typeof a === 'number' && typeof b === 'number' ? a / b : null;
    return { name, value, limit: `≥ ${min}×`, ok: value === null ? null : value >= min };
  };
  const abs = (name, pick, max, unit) => {
    const value = v(t, pick) ?? null;
    return { name, value, limit: `≤ ${max}${unit}`, ok: value === null ? null : value <= max };
  };
  return [
    rel('processing c=1 vs bee-queue', (s) => s.processing.c1.jobsPerSec, 'bee', 1.0),
    rel('processing c=50 vs bee-queue', (s) => s.processing.c50.jobsPerSec, 'bee', 1.0),
    rel('processing c=1 vs BullMQ', (s) => s.processing.c1.jobsPerSec, 'bullmq', 1.5),
    rel('processing c=50 vs BullMQ', (s) => s.processing.c50.jobsPerSec, 'bullmq', 1.5),
    rel('bulk enqueue vs bee-queue', (s) => s.enqueue.bulk.jobsPerSec, 'bee', 0.9),
    rel('serial enqueue vs bee-queue', (s) => s.enqueue.serial.jobsPerSec, 'bee', 1.0),
    rel('100 in flight enqueue vs bee', (s) => s.enqueue.inflight.jobsPerSec, 'bee', 1.0),
    abs('Redis bytes/queued job', (s) => s.bytesPerJob, 300, ''),
    abs('latency p50', (s) => s.latency.p50Ms, 0.6, ' ms'),
    abs('latency p99', (s) => s.latency.p99Ms, 3, ' ms'),
    abs('Redis cmds/job enq+proc', (s) => s.cmdsPerJob.total, 18, ''),
  ];
}

export function targetsText(targets) {
  const mark = (ok) => (ok === null ? 'n/a ' : ok ? 'PASS' : 'FAIL');
  const lines = targets.map((x) => `  ${mark(x.ok)}  ${x.name.padEnd(30)} ${x.value === null ? '–' : x.value.toFixed(2).padStart(7)}  (target ${x.limit})`);
  const met = targets.filter((x) => x.ok).length;
  return [`targets (taskq): ${met}/${targets.length} met`, ...lines].join('\n');
}

export function writeJson(file, data) {
  mkdirSync(new URL('.', file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}
