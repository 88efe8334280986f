/**
 * The native helper (native/taskq_native.c; `npm run build:native`, which the bootstrap of `npm
 * start` / `npm test` runs): the two system calls Node 20 lacks. `execve` restarts a node in place
 * on HUP (same pid, fresh code), `setParentDeathSignal` makes a pool child die with its node even
 * when its event loop is stuck in a task. Loaded once, lazily; missing, it is a clear error.
 */
import { createRequire } from 'node:module';
import { TaskqError } from '../errors.js';

export interface NativeHelper {
  /** Replaces this process's image (same pid); only returns by throwing. */
  execve(file: string, argv: string[], env: string[]): never;
  /** prctl(PR_SET_PDEATHSIG); false if the parent is already not `expectedPpid`. */
  setParentDeathSignal(signo: number, expectedPpid: number): boolean;
}

const ADDON = new URL('../../native/build/Release/taskq_native.node', import.meta.url);
let cached: NativeHelper | TaskqError | undefined;

/** The helper, or TASKQ_NATIVE_UNAVAILABLE saying how to build it. */
export function nativeHelper(): NativeHelper {
  if (cached === undefined) {
    try {
      cached = createRequire(import.meta.url)(ADDON.pathname) as NativeHelper;
    } catch (cause) {
      cached = new TaskqError(
        'TASKQ_NATIVE_UNAVAILABLE',
        `the native helper ${ADDON.pathname} cannot be loaded (${(cause as Error).message.split('\n')[0]}). Build it with \`npm run build:native\` (needs make, g++ and python3; npm start and npm test do it).`,
        { cause },
      );
    }
  }
  if (cached instanceof TaskqError) throw cached;
  return cached;
}

/** The helper if it loads, else undefined (callers that have a fallback). */
export function optionalNativeHelper(): NativeHelper | undefined {
  try {
    return nativeHelper();
  } catch {
    return undefined;
  }
}

/** Re-executes this process as it was started (same pid, same arguments, this environment). */
export function execSelf(): never {
  const helper = nativeHelper();
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const env = Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  return helper.execve(process.execPath, argv, env);
}
