/** What the CLI prints for events and banners (pure formatting). */
import { describe, expect, it } from 'vitest';
import { beatBanner, eventText } from '../../../src/cli/presenter.js';

describe('eventText', () => {
  it('names the beat that took the lead', () => {
    const line = eventText({ streamId: '1-0', type: 'beat-leader', time: Date.UTC(2026, 0, 2, 3, 4, 5), data: { beat: 'beat:w1@vm', since: 1 } });
    expect(line).toBe('2026-01-02T03:04:05.000Z beat-leader      beat:w1@vm leads the beat (the others stand by)\n');
  });

  it('names the node of worker events', () => {
    const line = eventText({ streamId: '1-0', type: 'worker-online', time: 0, data: { node: 'w1@vm' } });
    expect(line).toContain('worker-online    w1@vm');
  });
});

describe('beatBanner', () => {
  it('lists the entries, or says how to give some when there are none', () => {
    const base = { name: 'beat@vm', pid: 7, broker: 'redis://127.0.0.1:6379/0', app: 'app.mjs' };
    expect(beatBanner({ ...base, entries: [{ name: 'tick', task: 'add', when: 'every 5 s' }] })).toContain('  entries\n    tick  add  every 5 s\n');
    expect(beatBanner({ ...base, entries: [] })).toContain('entries none yet: give the app a beatSchedule (-A), or add some at run time (taskq beat add --help)');
  });
});
