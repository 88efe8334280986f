import { describe, expect, it } from 'vitest';
import { Router } from '../../../src/core/routing.js';
import { TaskqError } from '../../../src/errors.js';
import { thrown } from '../../helpers/thrown.js';

function queueNameError(fn: () => unknown): TaskqError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(TaskqError);
  expect((err as TaskqError).code).toBe('TASKQ_QUEUE_NAME_INVALID');
  expect((err as TaskqError).exitCode).toBe(64);
  return err as TaskqError;
}

describe('Router precedence', () => {
  const router = new Router({ 'video.special': 'q_special', 'video.*': 'q_download', 'tasks.add': 'q_math' }, 'q_default');

  it('the call queue wins over everything', () => {
    expect(router.route('tasks.add', 'q_task', 'q_call')).toBe('q_call');
  });

  it('the task queue wins over routes', () => {
    expect(router.route('tasks.add', 'q_task')).toBe('q_task');
    expect(router.route('video.x', 'q_task', undefined)).toBe('q_task');
  });

  it('an exact route wins over a glob, whatever their order', () => {
    expect(router.route('video.special')).toBe('q_special');
    const globFirst = new Router([
      ['video.*', 'q_download'],
      ['video.special', 'q_special'],
    ], 'q_default');
    expect(globFirst.route('video.special')).toBe('q_special');
  });

  it('falls back to the default queue', () => {
    expect(router.route('audio.mix')).toBe('q_default');
    expect(router.route('tasks.add2')).toBe('q_default');
  });

  it('treats empty call and task queues as not given', () => {
    expect(router.route('tasks.add', '', '')).toBe('q_math');
  });
});

describe('Router globs', () => {
  it('"video.*" matches across dots but not other prefixes', () => {
    const router = new Router({ 'video.*': 'q_download' }, 'default');
    expect(router.route('video.a')).toBe('q_download');
    expect(router.route('video.a.b')).toBe('q_download');
    expect(router.route('videos.a')).toBe('default');
    expect(router.route('media.video.a')).toBe('default');
    expect(router.route('video')).toBe('default');
  });

  it('supports ? and {a,b}', () => {
    const router = new Router({ 'job.?': 'q_one', 'pcap.{capture,analyze}': 'q_pcap' }, 'default');
    expect(router.route('job.x')).toBe('q_one');
    expect(router.route('job.xy')).toBe('default');
    expect(router.route('pcap.capture')).toBe('q_pcap');
    expect(router.route('pcap.analyze')).toBe('q_pcap');
    expect(router.route('pcap.other')).toBe('default');
  });

  it('the first matching glob wins, in the order given', () => {
    const pairs: Array<[string, string]> = [
      ['a.b.*', 'q_narrow'],
      ['a.*', 'q_wide'],
    ];
    expect(new Router(pairs, 'default').route('a.b.c')).toBe('q_narrow');
    expect(new Router([...pairs].reverse(), 'default').route('a.b.c')).toBe('q_wide');
  });

  it('works with no routes', () => {
    expect(new Router(undefined, 'default').route('anything')).toBe('default');
    expect(new Router([], 'default').route('anything')).toBe('default');
  });
});

describe('Router validation', () => {
  it('rejects an invalid default queue, naming it', () => {
    const e = queueNameError(() => new Router({}, 'bad queue'));
    expect(e.message).toContain('invalid queue name "bad queue" in the app option defaultQueue');
    queueNameError(() => new Router({}, ''));
    queueNameError(() => new Router({}, '_starts_with_underscore'));
  });

  it('rejects an invalid route queue, naming the route and the queue', () => {
    const e = queueNameError(() => new Router({ 'video.*': 'q:download' }, 'default'));
    expect(e.message).toContain('invalid queue name "q:download" in route "video.*"');
    const long = 'q'.repeat(129);
    queueNameError(() => new Router([['x', long]], 'default'));
  });

  it('accepts names of 1–128 letters, digits, _ . -', () => {
    expect(new Router({ x: 'Q.1_a-b' }, '0').route('x')).toBe('Q.1_a-b');
    expect(new Router({}, 'q'.repeat(128)).defaultQueue).toBe('q'.repeat(128));
  });
});

describe("Celery's object form of a route", () => {
  it('{ queue, priority } routes the task and gives it a priority unless the task or call sets one', () => {
    const r = new Router({ 'tasks.add': { queue: 'low', priority: 'high' }, 'video.*': { queue: 'q_download' }, 'mail.send': 'mail' }, 'default');
    expect([r.route('tasks.add'), r.priority('tasks.add')]).toEqual(['low', 'high']);
    expect([r.route('video.fetch'), r.priority('video.fetch')]).toEqual(['q_download', undefined]);
    expect([r.route('mail.send'), r.priority('mail.send')]).toEqual(['mail', undefined]);
    expect(r.priority('other')).toBeUndefined();
  });

  it('a malformed route names itself', () => {
    expect(() => new Router({ x: { queue: 'q', priority: 'urgent' as 'high' } }, 'default')).toThrow('route "x" priority must be "high", "normal" or "low", got "urgent"');
    expect(() => new Router({ y: { q: 'wrong' } as unknown as string }, 'default')).toThrow('route "y" must be a queue name or { queue, priority? }');
  });
});
