import { describe, expect, it } from 'vitest';
import { formatLogLine, wantsHumanLogs } from '../../../src/worker/log-format.js';

const at = new Date(2026, 10, 30, 12, 0, 0, 123).getTime();
const line = (rec: Record<string, unknown>): string => `${JSON.stringify({ level: 30, time: at, pid: 7, hostname: 'vm', node: 'w1@vm', ...rec })}\n`;

describe('Celery-style log lines', () => {
  it('prints time, level and process, then the message; fields the message says are not repeated', () => {
    expect(formatLogLine(line({ task: 'add', jobId: 'j1', msg: 'Task add[j1] succeeded in 0.0012s: 5', runtimeMs: 1.2 }))).toBe(
      '[2026-11-30 12:00:00,123: INFO/MainProcess] Task add[j1] succeeded in 0.0012s: 5\n',
    );
  });

  it('names pool children by index, maps pino levels to Celery names, and adds an error stack', () => {
    const out = formatLogLine(line({ level: 50, index: 2, msg: 'boom', err: { message: 'bad', stack: 'Error: bad\n    at x' } }));
    expect(out).toBe('[2026-11-30 12:00:00,123: ERROR/PoolWorker-2] boom\nError: bad\n    at x\n');
    expect(formatLogLine(line({ level: 40, msg: 'careful' }))).toContain(': WARNING/MainProcess] careful');
  });

  it('shortens long fields and passes lines that are not JSON through', () => {
    expect(formatLogLine(line({ msg: 'm', jobs: 'x'.repeat(500) }))).toMatch(/\(jobs=x{117}\.\.\.\)\n$/);
    expect(formatLogLine('plain text')).toBe('plain text\n');
  });

  it('chooses human lines for a terminal, JSON otherwise, unless TASKQ_LOG_FORMAT says', () => {
    expect(wantsHumanLogs({}, true)).toBe(true);
    expect(wantsHumanLogs({}, false)).toBe(false);
    expect(wantsHumanLogs({ TASKQ_LOG_FORMAT: 'json' }, true)).toBe(false);
    expect(wantsHumanLogs({ TASKQ_LOG_FORMAT: 'human' }, undefined)).toBe(true);
  });
});
