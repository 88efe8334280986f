/**
 * What the UI knows about tasks, built from the event stream as Flower builds it: one row per task id
 * (name, state, node, args, result or error, times) and its events, bounded — the least recently
 * updated tasks are dropped past `maxTasks`, a task keeps its last `maxEvents` events. Queries filter
 * by name, state, node, time range and a text search over args, result and error.
 */
import type { TaskqEvent } from '../events/event-types.js';

export interface TaskRow {
  id: string;
  name: string;
  state: string;
  node?: string;
  queue?: string;
  args?: unknown;
  result?: unknown;
  error?: { name?: string; message?: string; stack?: string };
  attempt?: number;
  progress?: unknown;
  runtimeMs?: number;
  sentAt?: number;
  startedAt?: number;
  endedAt?: number;
  /** Last event time (ms). */
  updatedAt: number;
}

export interface TaskQuery {
  name?: string;
  state?: string;
  node?: string;
  /** ms: updated at or after / before. */
  since?: number;
  until?: number;
  /** Text searched (case-insensitive) in the id, args, result and error. */
  search?: string;
  limit?: number;
}

const STATES: Record<string, string> = {
  'task-sent': 'PENDING',
  'task-received': 'RECEIVED',
  'task-started': 'STARTED',
  'task-succeeded': 'SUCCESS',
  'task-failed': 'FAILURE',
  'task-retried': 'RETRY',
  'task-revoked': 'REVOKED',
};
const FINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

export class TaskState {
  /** Insertion order = update order: the first entry is the least recently updated. */
  private readonly rows = new Map<string, TaskRow>();
  private readonly timelines = new Map<string, TaskqEvent[]>();

  constructor(private readonly limits: { maxTasks: number; maxEvents: number } = { maxTasks: 10_000, maxEvents: 50 }) {}

  get size(): number {
    return this.rows.size;
  }

  /** Takes one event in (others than task events are ignored). */
  add(e: TaskqEvent): void {
    if (!e.type.startsWith('task-')) return;
    const d = e.data;
    const id = typeof d.id === 'string' ? d.id : undefined;
    if (!id) return;
    const row = this.rows.get(id) ?? { id, name: String(d.task ?? '?'), state: 'PENDING', updatedAt: e.time };
    this.rows.delete(id); // re-inserted last: the most recently updated
    if (typeof d.task === 'string') row.name = d.task;
    if (typeof d.node === 'string') row.node = d.node;
    if (typeof d.queue === 'string') row.queue = d.queue;
    if (typeof d.attempt === 'number') row.attempt = d.attempt;
    if (typeof d.runtimeMs === 'number') row.runtimeMs = d.runtimeMs;
    if (d.args !== undefined) row.args = d.args;
    if (d.result !== undefined) row.result = d.result;
    if (d.error && typeof d.error === 'object') row.error = d.error as TaskRow['error'];
    if (e.type === 'task-progress') row.progress = d.progress;
    // A custom state (ctx.updateState) shows while it runs; a final state is never replaced by one.
    if (e.type === 'task-progress' && typeof d.state === 'string' && !FINAL.has(row.state)) row.state = d.state;
    const state = STATES[e.type];
    // A final state is not undone by a late, out-of-order event (a retry's received after success).
    if (state && !(FINAL.has(row.state) && !FINAL.has(state))) row.state = state;
    if (e.type === 'task-sent') row.sentAt = e.time;
    if (e.type === 'task-started') row.startedAt = e.time;
    if (state && FINAL.has(state)) row.endedAt = e.time;
    row.updatedAt = e.time;
    this.rows.set(id, row);
    const timeline = this.timelines.get(id) ?? [];
    timeline.push(e);
    if (timeline.length > this.limits.maxEvents) timeline.shift();
    this.timelines.set(id, timeline);
    while (this.rows.size > this.limits.maxTasks) {
      const oldest = this.rows.keys().next().value as string;
      this.rows.delete(oldest);
      this.timelines.delete(oldest);
    }
  }

  get(id: string): { row: TaskRow; events: TaskqEvent[] } | undefined {
    const row = this.rows.get(id);
    return row ? { row, events: this.timelines.get(id) ?? [] } : undefined;
  }

  /** The most recently updated first. */
  query(q: TaskQuery = {}): TaskRow[] {
    const out: TaskRow[] = [];
    const limit = q.limit ?? 100;
    const search = q.search?.toLowerCase();
    const rows = [...this.rows.values()];
    for (let i = rows.length - 1; i >= 0 && out.length < limit; i--) {
      const r = rows[i] as TaskRow;
      if (q.name && r.name !== q.name) continue;
      if (q.state && r.state !== q.state) continue;
      if (q.node && r.node !== q.node) continue;
      if (q.since !== undefined && r.updatedAt < q.since) continue;
      if (q.until !== undefined && r.updatedAt > q.until) continue;
      if (search && !`${r.id} ${JSON.stringify(r.args ?? '')} ${JSON.stringify(r.result ?? '')} ${r.error?.message ?? ''}`.toLowerCase().includes(search)) continue;
      out.push(r);
    }
    return out;
  }
}
