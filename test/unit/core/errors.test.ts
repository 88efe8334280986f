import { describe, expect, it } from 'vitest';
import {
  BrokerUnavailableError,
  ConfigError,
  OptionError,
  ResultTimeoutError,
  Retry,
  TaskFailedError,
  TaskqError,
  TaskRevokedError,
  toError,
  UnrecoverableError,
} from '../../../src/errors.js';

describe('toError', () => {
  it('returns an Error unchanged', () => {
    const err = new RangeError('r');
    expect(toError(err)).toBe(err);
    const unrecoverable = new UnrecoverableError('stop');
    expect(toError(unrecoverable)).toBe(unrecoverable);
  });

  it.each<[string, unknown, string]>([
    ['a string', 'boom', 'non-Error thrown: boom'],
    ['a number', 42, 'non-Error thrown: 42'],
    ['an object', { code: 7, why: 'x' }, 'non-Error thrown: {"code":7,"why":"x"}'],
    ['null', null, 'non-Error thrown: null'],
    ['undefined', undefined, 'non-Error thrown: undefined'],
    ['a BigInt', 12n, 'non-Error thrown: 12'],
  ])('wraps %s, showing it', (_what, value, message) => {
    const err = toError(value);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('NonErrorThrown');
    expect(err.message).toBe(message);
  });

  it('wraps a circular object without throwing', () => {
    const o: Record<string, unknown> = {};
    o.o = o;
    expect(toError(o).message).toBe('non-Error thrown: [object Object]');
  });

  it('shows a thrown symbol or function rather than "undefined"', () => {
    expect(toError(Symbol('boom')).message).toContain('boom');
    expect(toError(function namedThrowable() {}).message).toContain('namedThrowable');
  });
});

describe('TaskFailedError', () => {
  it('keeps the remote name and stack and shows both', () => {
    const remoteStack = 'TypeError: bad input 42\n    at handler (/srv/tasks/add.js:3:9)';
    const e = new TaskFailedError({ taskId: 'j1', taskName: 'tasks.add', name: 'TypeError', message: 'bad input 42', stack: remoteStack });
    expect(e).toBeInstanceOf(TaskqError);
    expect(e.name).toBe('TaskFailedError');
    expect(e.code).toBe('TASKQ_TASK_FAILED');
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe('task tasks.add[j1] failed: TypeError: bad input 42');
    expect(e.remoteName).toBe('TypeError');
    expect(e.remoteStack).toBe(remoteStack);
    expect(e.taskId).toBe('j1');
    expect(e.taskName).toBe('tasks.add');
    expect(e.stack).toBe(`TaskFailedError: task tasks.add[j1] failed: TypeError: bad input 42\n--- remote stack ---\n${remoteStack}`);
  });

  it('keeps its local stack when the remote one is missing', () => {
    const e = new TaskFailedError({ taskId: 'j2', taskName: 't', name: 'Error', message: 'm' });
    expect(e.remoteStack).toBeUndefined();
    expect(e.stack).not.toContain('--- remote stack ---');
    expect(e.stack).toContain('errors.test.ts');
  });
});

describe('error classes', () => {
  it('carry code, exit code, name and cause', () => {
    const cause = new Error('root');
    const config = new ConfigError('TASKQ_CONFIG_INVALID', 'bad', { cause });
    expect([config.name, config.code, config.exitCode, config.cause]).toEqual(['ConfigError', 'TASKQ_CONFIG_INVALID', 78, cause]);
    const down = new BrokerUnavailableError('down');
    expect([down.name, down.code, down.exitCode]).toEqual(['BrokerUnavailableError', 'TASKQ_BROKER_UNAVAILABLE', 69]);
    const opt = new OptionError('o');
    expect([opt.name, opt.code, opt.exitCode]).toEqual(['OptionError', 'TASKQ_OPTION_INVALID', 64]);
    const base = new TaskqError('TASKQ_CLOSED', 'closed');
    expect([base.name, base.exitCode, 'cause' in base]).toEqual(['TaskqError', 70, false]);
  });

  it('let an explicit exit code override the class default', () => {
    expect(new ConfigError('TASKQ_CONFIG_INVALID', 'u', { exitCode: 64 }).exitCode).toBe(64);
  });

  it('say how to diagnose a result timeout', () => {
    const e = new ResultTimeoutError('j1', 5000, 'PENDING');
    expect([e.code, e.exitCode]).toEqual(['TASKQ_RESULT_TIMEOUT', 75]);
    expect(e.message).toBe('no result for task j1 within 5000 ms (state PENDING): is a worker consuming its queue? Check with `taskq status`.');
    // Once a worker has it, asking whether one consumes its queue would mislead.
    expect(new ResultTimeoutError('j1', 5000, 'STARTED').message).toBe('no result for task j1 within 5000 ms (state STARTED): a worker has it under way; wait longer (a larger timeout), or see `taskq result` later.');
  });

  it('name revocations and carry a retry countdown', () => {
    const r = new TaskRevokedError('j1', 'terminated');
    expect([r.code, r.message, r.exitCode]).toEqual(['TASKQ_TASK_REVOKED', 'task j1 was revoked: terminated', 1]);
    const retry = new Retry('again', 1500);
    expect([retry.name, retry.countdownMs]).toEqual(['Retry', 1500]);
    expect(new UnrecoverableError().message).toBe('unrecoverable');
  });
});
