/**
 * Which queue a task goes to. First match wins:
 *   1. the `queue` option of the call;
 *   2. the `queue` option of the task;
 *   3. the app's `routes`, in order: exact task names, then globs (`'video.*': 'q_download'`);
 *   4. the app's default queue.
 */
import picomatch from 'picomatch';
import { assertQueueName } from '../broker/keys.js';

/** Task-name pattern → queue name. Patterns may be exact names or globs (`*`, `?`, `{a,b}`). */
export type Routes = Record<string, string> | ReadonlyArray<readonly [pattern: string, queue: string]>;

export class Router {
  private readonly exact = new Map<string, string>();
  private readonly globs: Array<{ test: (name: string) => boolean; queue: string }> = [];

  constructor(
    routes: Routes | undefined,
    readonly defaultQueue: string,
  ) {
    assertQueueName(defaultQueue, 'the app option defaultQueue');
    const entries = Array.isArray(routes) ? routes : Object.entries(routes ?? {});
    for (const [pattern, queue] of entries) {
      assertQueueName(queue, `route ${JSON.stringify(pattern)}`);
      if (picomatch.scan(pattern).isGlob) {
        // Task names use dots as separators; `*` should cross them ("video.*" matches "video.a.b").
        this.globs.push({ test: picomatch(pattern, { dot: true, contains: false, bash: true }), queue });
      } else {
        this.exact.set(pattern, queue);
      }
    }
  }

  route(taskName: string, taskQueue?: string, callQueue?: string): string {
    if (callQueue) return callQueue;
    if (taskQueue) return taskQueue;
    const exact = this.exact.get(taskName);
    if (exact) return exact;
    for (const glob of this.globs) if (glob.test(taskName)) return glob.queue;
    return this.defaultQueue;
  }
}
