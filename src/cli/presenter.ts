/** The only place that formats human output. Mechanism returns data; commands pass it here. */
import type { ResultRecord } from '../core/result-record.js';
import type { TaskqEvent } from '../events/event-types.js';
import type { DeadJob, NodeStatus, QueueStatus } from '../core/queue-admin.js';

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

export function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

export function statusText(queues: QueueStatus[], nodes: NodeStatus[]): string {
  let out = queues.length
    ? table(['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'DEAD'], queues.map((q) => [q.queue, q.waiting, q.active, q.delayed, q.dead]))
    : 'no queues yet\n';
  out += '\n';
  out += nodes.length
    ? table(
        ['NODE', 'PID', 'ACTIVE', 'PROCESSED', 'QUEUES', 'LAST SEEN', 'HEALTH'],
        nodes.map((n) => [n.node, n.pid ?? '?', n.active ?? '?', n.processed ?? '?', (n.queues ?? []).join(','), `${(n.lastSeenMs / 1000).toFixed(1)}s ago`, n.problem ? `NOT TAKING WORK: ${n.problem}` : 'ok']),
      )
    : 'no worker nodes alive\n';
  return out;
}

export function resultText(id: string, rec: ResultRecord | undefined): string {
  if (!rec) return `${id}  PENDING\n`;
  let line = `${id}  ${rec.state}  ${rec.task}`;
  if (rec.state === 'SUCCESS') line += `  → ${JSON.stringify(rec.result)}`;
  if (rec.error) line += `  ${rec.error.name}: ${rec.error.message}`;
  if (rec.reason && rec.state !== 'SUCCESS') line += `  (${rec.reason})`;
  if (rec.progress !== undefined && rec.state === 'STARTED') line += `  progress ${JSON.stringify(rec.progress)}`;
  return `${line}\n`;
}

export function eventText(e: TaskqEvent): string {
  const d = e.data;
  const when = new Date(e.time).toISOString();
  const task = d.task ? `${String(d.task)}[${String(d.id)}]` : '';
  const parts: string[] = [when, e.type.padEnd(16), task];
  if (d.node && e.type.startsWith('task-')) parts.push(`node=${String(d.node)}`);
  if (e.type.startsWith('worker-')) parts.push(String(d.node));
  if (d.runtimeMs !== undefined) parts.push(`runtime=${String(d.runtimeMs)}ms`);
  if (d.error && typeof d.error === 'object') {
    const err = d.error as { name?: string; message?: string };
    parts.push(`${err.name ?? 'Error'}: ${err.message ?? ''}`);
  }
  if (d.reason) parts.push(`(${String(d.reason)})`);
  if (e.type === 'beat-leader') parts.push(`${String(d.beat)} leads the beat (the others stand by)`);
  if (e.type === 'worker-heartbeat') parts.push(`active=${String(d.active)} processed=${String(d.processed)}`);
  if (e.type === 'events-missed') {
    parts.push(`${d.missed === null ? 'some' : String(d.missed)} events after ${String(d.after)} were trimmed before they were read (resumed at ${String(d.resumedAt)}; raise TASKQ_EVENTS_MAX_LEN to keep more)`);
  }
  return `${parts.filter(Boolean).join(' ')}\n`;
}

export function deadText(jobs: DeadJob[]): string {
  if (!jobs.length) return 'no dead jobs\n';
  return table(
    ['QUEUE', 'ID', 'TASK', 'DIED', 'ATTEMPTS', 'STALLS', 'ERROR'],
    jobs.map((j) => [j.queue, j.id, j.task, new Date(j.diedAt).toISOString(), j.attempts, j.stalls, j.error]),
  );
}

export interface BannerInfo {
  node: string;
  pid: number;
  broker: string;
  app: string | undefined;
  tasks: string[];
  queues: string[];
  concurrency: number;
  taskEvents: boolean;
}

export function workerBanner(b: BannerInfo): string {
  return (
    `taskq worker ${b.node} (pid ${b.pid}) ready\n` +
    `  broker       ${b.broker}\n` +
    `  app          ${b.app ?? '(none: tasks sent here fail as unknown)'}\n` +
    `  tasks        ${b.tasks.length ? b.tasks.join(', ') : '(none)'}\n` +
    `  queues       ${b.queues.join(', ')}\n` +
    `  concurrency  ${b.concurrency}\n` +
    `  task events  ${b.taskEvents ? 'ON' : 'OFF (-E or `taskq control enable_events` to monitor tasks of this node; the web UI turns them on)'}\n`
  );
}

export interface BeatBannerInfo {
  name: string;
  pid: number;
  broker: string;
  app: string;
  entries: Array<{ name: string; task: string; when: string }>;
}

export function beatBanner(b: BeatBannerInfo): string {
  const entries = b.entries.length
    ? `\n${b.entries.map((e) => `    ${e.name}  ${e.task}  ${e.when}`).join('\n')}`
    : ' none yet: give the app a beatSchedule (-A), or add some at run time (taskq beat add --help); this beat picks them up as they come';
  return `taskq beat ${b.name} (pid ${b.pid}) ready\n  broker   ${b.broker}\n  app      ${b.app}\n  entries${entries}\n`;
}

export interface UpInfo {
  broker: string;
  redisDir: string | undefined;
  nodes: Array<{ node: string; pid: number; queues: string[]; concurrency: number; log: string }>;
  /** taskq commands to suggest (without `taskq`). */
  tries?: string[];
  /** How to run taskq from where up was started (./bin/taskq in this repository). */
  bin?: string;
  beat?: { pid: number; log: string };
  services?: Array<{ name: string; pid: number; url?: string }>;
  /** The layout's start commands, as they ended. */
  started?: Array<{ command: string; code: number; output: string }>;
}

export function upText(info: UpInfo): string {
  let out = `taskq is up\n  broker  ${info.broker}${info.redisDir ? `  (private redis-server, data in ${info.redisDir})` : ''}\n\n`;
  out += table(['NODE', 'PID', 'QUEUES', 'CONCURRENCY', 'LOG'], info.nodes.map((n) => [n.node, n.pid, n.queues.join(','), n.concurrency, n.log]));
  if (info.beat) out += `\nbeat (periodic tasks): pid ${info.beat.pid}, log ${info.beat.log}  (taskq beat ls -A <app> lists its entries)\n`;
  for (const s of info.services ?? []) out += `${s.name}: pid ${s.pid}${s.url ? `, ${s.url}` : ''}\n`;
  for (const s of info.started ?? []) out += `${s.code === 0 ? 'ran' : `FAILED (exit ${s.code})`}: taskq ${s.command}${s.code === 0 ? '' : `\n  ${s.output.split('\n').join('\n  ')}`}\n`;
  const demo = info.services?.find((s) => s.name === 'demo')?.url;
  const cache = info.services?.find((s) => s.name === 'cache')?.url;
  if (demo && cache) {
    out += `\nsee it cache a video: fetch one from the demo origin (the capture on lo sees it), then get the cached copy:\n`;
    out += `  curl -s ${demo}/demo.mp4 | sha256sum\n  curl -s '${cache}/u?url=${encodeURIComponent(`${demo}/demo.mp4`)}' | sha256sum   # a few seconds later: the same sum\n`;
  }
  const tries = [...new Set([...(info.tries ?? []), 'status'])];
  out += `\ntry it (another terminal):\n${tries.map((t) => `  TASKQ_BROKER_URL=${info.broker} ${info.bin ?? 'taskq'} ${t}\n`).join('')}\nCtrl-C stops everything.\n`;
  return out;
}

/** `taskq events` when no node alive writes task events. */
export function noTaskEventsHint(nodes: string[]): string {
  const shown = nodes.length > 3 ? `${nodes.slice(0, 3).join(', ')} and ${nodes.length - 3} more` : nodes.join(', ');
  return `note: no node writes task events now (${shown}): only worker events show. Run the workers with -E, or \`taskq control enable_events\` (the web UI turns them on while it runs).\n`;
}
