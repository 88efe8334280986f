import { describe, expect, it } from 'vitest';
import { gatheredText } from '../../../src/cli/presenter-control.js';
import type { NodeStats } from '../../../src/core/control-protocol.js';

const stats = (taskEvents: boolean): NodeStats => ({
  node: 'w1@vm',
  pid: 42,
  hostname: 'vm',
  uptimeMs: 5000,
  broker: 'redis://127.0.0.1:6379/0',
  pool: { kind: 'async', concurrency: 4, prefetch: 'adaptive' },
  queues: ['default'],
  counts: { active: 0, processed: 3 },
  totals: { add: 3 },
  taskEvents,
  rusage: { userCpuMs: 10, systemCpuMs: 2, maxRssKb: 50_000 },
  rssKb: 48_000,
} as NodeStats);

describe('inspect stats as text', () => {
  it('says whether the node writes task events', () => {
    const text = (on: boolean): string => gatheredText('stats', { replies: [{ v: 1, id: 'r', node: 'w1@vm', ok: true, result: stats(on) }], ignored: 0, missing: [] }, 3);
    expect(text(false)).toContain('pool async, 4 slots, prefetch adaptive; queues default; task events off');
    expect(text(true)).toContain('; task events on');
  });
});
