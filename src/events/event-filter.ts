/**
 * Which events `taskq events` (and the web UI to come) shows: by type (exact, or a `task-*` prefix),
 * task name and node; worker heartbeats only when asked, since they are most of a quiet stream. Pure.
 */
import type { TaskqEvent } from './event-types.js';

export interface EventFilterOptions {
  /** Types to show: `task-failed`, or `task-*` for every task event. */
  types?: string[];
  task?: string;
  /** A node's full name, or its short name (before `@`). */
  node?: string;
  /** Show worker-heartbeat events (hidden otherwise, unless `types` asks for them). */
  heartbeats?: boolean;
}

function typeMatches(type: string, patterns: string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : type === p));
}

export function eventFilter(options: EventFilterOptions): (e: TaskqEvent) => boolean {
  const { types, task, node, heartbeats } = options;
  return (e) => {
    if (types?.length ? !typeMatches(e.type, types) : e.type === 'worker-heartbeat' && !heartbeats) return false;
    if (task !== undefined && e.data.task !== task) return false;
    if (node !== undefined) {
      const n = typeof e.data.node === 'string' ? e.data.node : '';
      if (n !== node && n.split('@')[0] !== node) return false;
    }
    return true;
  };
}
