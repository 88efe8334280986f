/**
 * Turns what Redis or the connection answered into a TaskqError whose code says what happened and
 * whose message says how to fix it, so no raw ioredis ReplyError reaches a caller or the CLI.
 */
import { ExitCode, TaskqError, type TaskqErrorCode } from '../errors.js';

interface Known {
  test: RegExp;
  code: TaskqErrorCode;
  exit: ExitCode;
  why: string;
}

/** Redis refused the credentials (no password given, a wrong one) or a user without rights. */
export const AUTH_REFUSED = /^(NOAUTH|WRONGPASS|NOPERM)\b/;

const KNOWN: Known[] = [
  {
    test: /^OOM\b/,
    code: 'TASKQ_BROKER_OOM',
    exit: ExitCode.tempFail,
    why: 'Redis is out of memory (maxmemory reached, eviction policy noeviction) and refuses writes. Free memory: raise maxmemory, shorten resultExpiresMs, purge dead letters (`taskq dead purge`) or drain queues',
  },
  {
    test: /^READONLY\b/,
    code: 'TASKQ_BROKER_READONLY',
    exit: ExitCode.unavailable,
    why: 'the broker is a read-only replica (after a failover?). Point TASKQ_BROKER_URL at the primary',
  },
  {
    test: AUTH_REFUSED,
    code: 'TASKQ_BROKER_AUTH',
    exit: ExitCode.config,
    why: 'Redis refused the credentials or the command. Put the right user and password in the broker URL (redis://user:pass@host:port)',
  },
  {
    test: /^MISCONF\b/,
    code: 'TASKQ_BROKER_MISCONF',
    exit: ExitCode.unavailable,
    why: 'Redis cannot save to disk and refuses writes until it can (MISCONF). Fix its disk or `dir`, then retry',
  },
  {
    test: /^WRONGTYPE\b/,
    code: 'TASKQ_BROKER_WRONGTYPE',
    exit: ExitCode.dataErr,
    why: 'a key under this prefix holds another type than taskq stores there (written by another program?). Use another --prefix, or delete the key',
  },
  {
    test: /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EPIPE|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest/,
    code: 'TASKQ_BROKER_UNAVAILABLE',
    exit: ExitCode.unavailable,
    why: 'the connection to Redis was lost. Check that redis-server runs at the broker URL',
  },
];

/** The taskq error for a broker failure while doing `what` ("sending task add"). TaskqErrors pass through. */
export function brokerError(err: unknown, what: string): TaskqError {
  if (err instanceof TaskqError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const known = KNOWN.find((k) => k.test.test(message));
  if (known) return new TaskqError(known.code, `${what} failed: ${known.why} (Redis said: ${message})`, { cause: err, exitCode: known.exit });
  return new TaskqError('TASKQ_BROKER_ERROR', `${what} failed: Redis answered an error: ${message}`, { cause: err, exitCode: ExitCode.unavailable });
}

/** Runs a broker call; any failure becomes a {@link brokerError}. */
export async function asBroker<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw brokerError(err, what);
  }
}
