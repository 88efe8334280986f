import { describe, expect, it } from 'vitest';
import { eventFilter } from '../../../src/events/event-filter.js';
import type { TaskqEvent } from '../../../src/events/event-types.js';

const ev = (type: string, data: Record<string, unknown> = {}): TaskqEvent => ({ streamId: '1-0', time: 1, type, data });
const stream = [
  ev('worker-heartbeat', { node: 'w1@box' }),
  ev('task-started', { task: 'add', node: 'w1@box' }),
  ev('task-failed', { task: 'fail', node: 'w2@box' }),
  ev('worker-online', { node: 'w2@box' }),
];
const shown = (o: Parameters<typeof eventFilter>[0]): string[] => stream.filter(eventFilter(o)).map((e) => `${e.type}:${String(e.data.node)}`);

describe('which events taskq events shows', () => {
  it('hides heartbeats unless asked, by flag or by type', () => {
    expect(shown({})).toEqual(['task-started:w1@box', 'task-failed:w2@box', 'worker-online:w2@box']);
    expect(shown({ heartbeats: true })).toHaveLength(4);
    expect(shown({ types: ['worker-heartbeat'] })).toEqual(['worker-heartbeat:w1@box']);
  });

  it('filters by type (exact or task-*), task and node (full or short name)', () => {
    expect(shown({ types: ['task-*'] })).toEqual(['task-started:w1@box', 'task-failed:w2@box']);
    expect(shown({ types: ['task-failed', 'worker-online'] })).toEqual(['task-failed:w2@box', 'worker-online:w2@box']);
    expect(shown({ task: 'add' })).toEqual(['task-started:w1@box']);
    expect(shown({ node: 'w2' })).toEqual(['task-failed:w2@box', 'worker-online:w2@box']);
    expect(shown({ node: 'w1@box', heartbeats: true })).toEqual(['worker-heartbeat:w1@box', 'task-started:w1@box']);
  });
});
