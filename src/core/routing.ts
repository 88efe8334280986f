/**
 * Which queue a task goes to. First match wins:
 *   1. the `queue` option of the call;
 *   2. the `queue` option of the task;
 *   3. the app's `routes`, in order: exact task names, then globs (`'video.*': 'q_download'`);
 *   4. the app's default queue.
 * A route is a queue name, or Celery's object form `{ queue, priority? }`; its priority applies when
 * neither the call nor the task sets one.
 */
import picomatch from 'picomatch';
import { assertQueueName } from '../broker/keys.js';
import { OptionError, show } from '../errors.js';
import { normalizePriority, type Priority } from './task.js';

/** Where a route sends a task: a queue, or Celery's `{ queue, priority }`. */
export type Route = string | { queue: string; priority?: Priority };

/** Task-name pattern → route. Patterns may be exact names or globs (`*`, `?`, `{a,b}`). */
export type Routes = Record<string, Route> | ReadonlyArray<readonly [pattern: string, route: Route]>;

interface Target {
  queue: string;
  priority: Priority | undefined;
}

function target(pattern: string, route: Route): Target {
  const where = `route ${JSON.stringify(pattern)}`;
  if (typeof route === 'string') {
    assertQueueName(route, where);
    return { queue: route, priority: undefined };
  }
  if (!route || typeof route !== 'object' || typeof route.queue !== 'string') throw new OptionError(`${where} must be a queue name or { queue, priority? }, got ${show(route)}`);
  assertQueueName(route.queue, where);
  return { queue: route.queue, priority: normalizePriority(route.priority, `${where} priority`) };
}

export class Router {
  private readonly exact = new Map<string, Target>();
  private readonly globs: Array<{ test: (name: string) => boolean; target: Target }> = [];

  constructor(
    routes: Routes | undefined,
    readonly defaultQueue: string,
  ) {
    assertQueueName(defaultQueue, 'the app option defaultQueue');
    const entries = Array.isArray(routes) ? routes : Object.entries(routes ?? {});
    for (const [pattern, route] of entries) {
      const t = target(pattern, route);
      if (picomatch.scan(pattern).isGlob) {
        // Task names use dots as separators; `*` should cross them ("video.*" matches "video.a.b").
        this.globs.push({ test: picomatch(pattern, { dot: true, contains: false, bash: true }), target: t });
      } else {
        this.exact.set(pattern, t);
      }
    }
  }

  /** The route matching a task name, if any. */
  private match(taskName: string): Target | undefined {
    return this.exact.get(taskName) ?? this.globs.find((g) => g.test(taskName))?.target;
  }

  route(taskName: string, taskQueue?: string, callQueue?: string): string {
    if (callQueue) return callQueue;
    if (taskQueue) return taskQueue;
    return this.match(taskName)?.queue ?? this.defaultQueue;
  }

  /** The priority the matching route gives, if it gives one. */
  priority(taskName: string): Priority | undefined {
    return this.match(taskName)?.priority;
  }
}
