/** Human output of `taskq inspect` and `taskq control` (Celery's `-> node: OK` blocks). */
import type { Gathered } from '../core/control-client.js';
import type { NodeStats, TaskInfo } from '../core/control-protocol.js';

const ago = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function taskLine(t: TaskInfo, now: number): string {
  const args = t.args === undefined ? '' : ` args=${JSON.stringify(t.args).slice(0, 120)}`;
  const started = t.startedAt === undefined ? '' : ` started ${ago(now - t.startedAt)} ago`;
  return `    * ${t.task}[${t.id}]${args}${started} (queue ${t.queue}, attempt ${t.attempt})`;
}

function statsLines(s: NodeStats): string[] {
  const totals = Object.entries(s.totals).map(([task, n]) => `${task}=${n}`).join(' ') || 'none';
  return [
    `    pid ${s.pid} on ${s.hostname}, up ${ago(s.uptimeMs)}, broker ${s.broker}`,
    `    pool ${s.pool.kind}, ${s.pool.concurrency} slot${s.pool.concurrency === 1 ? '' : 's'}${s.pool.autoscale ? ` (autoscale ${s.pool.autoscale.max},${s.pool.autoscale.min})` : ''}, prefetch ${s.pool.prefetch}; queues ${s.queues.join(',')}; task events ${s.taskEvents ? 'on' : 'off'}`,
    `    counts ${Object.entries(s.counts).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `    totals ${totals}`,
    `    cpu user ${s.rusage.userCpuMs} ms, system ${s.rusage.systemCpuMs} ms; rss ${s.rssKb} KiB (max ${s.rusage.maxRssKb} KiB)${s.problem ? `\n    NOT TAKING WORK: ${s.problem}` : ''}`,
  ];
}

/** The body of one node's successful reply. */
function resultLines(method: string, result: unknown, now: number): string[] {
  if (method === 'stats') return statsLines(result as NodeStats);
  if (method === 'active' || method === 'reserved' || method === 'scheduled') {
    const tasks = result as TaskInfo[];
    return tasks.length ? tasks.map((t) => taskLine(t, now)) : ['    - empty -'];
  }
  if (Array.isArray(result)) return result.length ? result.map((r) => `    * ${String(r)}`) : ['    - empty -'];
  if (typeof result === 'string') return [`    ${result}`];
  if (result && typeof result === 'object' && 'ok' in result) return [`    ${String((result as { ok: unknown }).ok)}`];
  return Object.entries(result as Record<string, unknown>).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`);
}

export function gatheredText(method: string, g: Gathered<unknown>, elapsedMs: number, now = Date.now()): string {
  const out: string[] = [];
  for (const r of g.replies) {
    out.push(`-> ${r.node}: ${r.ok ? 'OK' : 'ERROR'}`);
    out.push(...(r.ok ? resultLines(method, r.result, now) : [`    ${r.error.message} [${r.error.code}]`]));
  }
  for (const n of g.missing) out.push(`-> ${n}: no reply`);
  const n = g.replies.length;
  out.push(`${n} node${n === 1 ? '' : 's'} replied in ${Math.round(elapsedMs)} ms.${g.ignored ? ` ${g.ignored} repl${g.ignored === 1 ? 'y' : 'ies'} of another version ignored.` : ''}`);
  return `${out.join('\n')}\n`;
}

/** `--json`: node → result (or {error}), as Celery's `--json`. */
export function gatheredJson(g: Gathered<unknown>): Record<string, unknown> {
  return Object.fromEntries(g.replies.map((r) => [r.node, r.ok ? r.result : { error: r.error }]));
}
