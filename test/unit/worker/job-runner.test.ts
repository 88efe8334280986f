import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { defineTask } from '../../../src/core/task.js';
import { encodeJobRecord } from '../../../src/broker/message.js';
import type { TaskContext } from '../../../src/core/context.js';
import { AsyncExecutor } from '../../../src/worker/executor.js';
import { runJob, type RunJobInput } from '../../../src/worker/job-runner.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a synchronous start (parsing, hashing, …)
  }
}

function input(handler: (...args: never[]) => unknown, over: Partial<RunJobInput> = {}, kwargs?: Record<string, unknown>) {
  const def = defineTask('t.job', handler, { bind: true });
  const progress: Array<{ value: unknown; state: string | undefined }> = [];
  const raw = encodeJobRecord({ stalls: 0, options: { v: 1, timestamp: 1, attempt: 2 }, data: { task: 't.job', args: [1, 2], ...(kwargs ? { kwargs } : {}) } });
  const controller = new AbortController();
  const run: RunJobInput = {
    id: 'job-1',
    queue: 'q1',
    raw,
    node: 'w1@h',
    tasks: new Map([[def.name, def]]),
    log: pino({ enabled: false }),
    signal: () => controller.signal,
    abort: (reason) => controller.abort(reason),
    executor: new AsyncExecutor(),
    progress: async (value, state) => void progress.push({ value, state }),
    appOrigin: 'test',
    ...over,
  };
  return { run, progress };
}

describe('runJob: the task context', () => {
  it('carries the job, and its progress and updateState work taken off the object', async () => {
    let seen: Record<string, unknown> = {};
    const { run, progress } = input(async (ctx: TaskContext, a: number, b: number) => {
      const { progress: report, updateState, id, name, attempt, queue, node, kwargs } = ctx;
      seen = { id, name, attempt, queue, node, kwargs, aborted: ctx.signal.aborted, log: typeof ctx.log.info };
      await report(50);
      await updateState('PROGRESS', { done: 1 });
      return a + b;
    });
    const attempt = await runJob(run);
    expect(attempt.outcome).toEqual({ kind: 'success', resultJson: '3' });
    expect(seen).toEqual({ id: 'job-1', name: 't.job', attempt: 2, queue: 'q1', node: 'w1@h', kwargs: {}, aborted: false, log: 'function' });
    expect(progress).toEqual([
      { value: 50, state: undefined },
      { value: { done: 1 }, state: 'PROGRESS' },
    ]);
  });

  it('gives kwargs after the positional arguments and in ctx.kwargs', async () => {
    const { run } = input((ctx: TaskContext, a: number, b: number, kw: { c: number }) => ({ sum: a + b + kw.c, kwargs: ctx.kwargs }), {}, { c: 4 });
    expect((await runJob(run)).outcome).toEqual({ kind: 'success', resultJson: '{"sum":7,"kwargs":{"c":4}}' });
  });

  it('turns a synchronous throw into the attempt’s failure, as a rejection would be', async () => {
    const { run } = input(() => {
      throw new TypeError('bad input');
    });
    const attempt = await runJob(run);
    expect(attempt.outcome.kind).toBe('failure');
    expect(attempt.outcome.kind === 'failure' && attempt.outcome.error.name).toBe('TypeError');
  });

  it('rejects an invalid custom state without touching progress', async () => {
    const { run, progress } = input(async (ctx: TaskContext) => ctx.updateState('SUCCESS'));
    const attempt = await runJob({ ...run });
    expect(attempt.outcome.kind).toBe('failure');
    expect(progress).toEqual([]);
  });

  it('shows the job, not the node’s internals, to JSON and Object.keys; spreading it copies its data', async () => {
    let json = '';
    let keys: string[] = [];
    let spread: Record<string, unknown> = {};
    const { run } = input((ctx: TaskContext) => {
      json = JSON.stringify(ctx);
      keys = Object.keys(ctx);
      spread = { ...ctx };
      return 1;
    }, {}, { secret: 's' });
    expect((await runJob(run)).outcome.kind).toBe('success');
    expect(JSON.parse(json)).toEqual({ id: 'job-1', name: 't.job', attempt: 2, kwargs: { secret: 's' }, queue: 'q1', node: 'w1@h' });
    expect(keys.sort()).toEqual(['attempt', 'id', 'kwargs', 'name', 'node', 'queue']);
    expect(spread).toEqual({ id: 'job-1', name: 't.job', attempt: 2, kwargs: { secret: 's' }, queue: 'q1', node: 'w1@h' });
  });
});

describe('runJob: the async pool’s time limits', () => {
  it('count the handler’s synchronous start: hard limit 200 ms, 150 ms busy then 150 ms awaited fails', async () => {
    const { run } = input(async () => {
      busy(150);
      await new Promise((resolve) => setTimeout(resolve, 150));
      return 'done';
    }, { limits: { timeLimitMs: 200 } });
    const attempt = await runJob(run);
    expect(attempt.outcome).toMatchObject({ kind: 'failure', reason: 'hard time limit exceeded' });
    await attempt.lingering;
  });

  it('count it for the soft limit too: the signal has aborted when the handler looks after 300 ms', async () => {
    let aborted: boolean | undefined;
    const { run } = input(async (ctx: TaskContext) => {
      busy(150);
      await new Promise((resolve) => setTimeout(resolve, 150));
      aborted = ctx.signal.aborted;
      return 'done';
    }, { limits: { softTimeLimitMs: 200 } });
    await runJob(run);
    expect(aborted).toBe(true);
  });
});
