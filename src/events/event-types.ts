/**
 * The event stream `<prefix>:events` (a Redis Stream, trimmed to about `eventsMaxLen` entries).
 * Every entry has two fields: `type` (below) and `data` (JSON). The entry id (`<ms>-<seq>`) is the
 * event's time and the cursor a reader resumes from. Task events other than task-sent come from
 * worker nodes whose task events are on (-E, TASKQ_TASK_EVENTS, `control enable_events`).
 *
 *   task-sent       {id, task, queue, args, eta?, expires?}
 *   task-received   {id, task, node, attempt}
 *   task-started    {id, task, node, attempt}
 *   task-succeeded  {id, task, node, attempt, runtimeMs}
 *   task-failed     {id, task, node?, attempt?, error: {name, message, stack?}, reason, runtimeMs?}
 *   task-retried    {id, task, node, attempt, error, retryAt}
 *   task-revoked    {id, task, reason}
 *   task-progress   {id, task, node, progress}
 *   worker-online   {node, pid, hostname, queues, concurrency}
 *   worker-heartbeat {node, pid, active, processed, failed, load: [1, 5, 15 min], freq (s)}
 *   worker-offline  {node, pid, processed, failed}
 */
export const EVENT_TYPES = ['task-sent', 'task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'task-progress', 'worker-online', 'worker-heartbeat', 'beat-fired', 'beat-leader', 'worker-offline'] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export interface TaskqEvent {
  /** Stream entry id: `<ms>-<seq>`; pass it as `from` to resume after this event. */
  streamId: string;
  type: EventType | string;
  /** Time the event was written (ms), from the stream id. */
  time: number;
  data: Record<string, unknown>;
}

/** Turns one XRANGE/XREAD entry into an event; malformed entries are kept, with what was there. */
export function parseEntry(streamId: string, fields: string[]): TaskqEvent {
  let type = 'unknown';
  let data: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'type') type = fields[i + 1] as string;
    else if (fields[i] === 'data') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(fields[i + 1] as string);
      } catch {
        parsed = undefined;
      }
      // Readers index into data: anything but a plain object is kept as text.
      data = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { raw: fields[i + 1] };
    }
  }
  return { streamId, type, time: Number(streamId.split('-')[0]), data };
}
