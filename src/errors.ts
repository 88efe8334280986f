/**
 * Every error taskq raises on purpose. Each has a stable `code` (listed in docs/errors.md), a message
 * that says what went wrong, where, and how to fix it, the original `cause`, and the sysexits code the
 * CLI exits with when the error reaches it.
 */

/** Exit codes from sysexits.h that the CLI uses. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 64,
  dataErr: 65,
  noInput: 66,
  unavailable: 69,
  software: 70,
  cantCreate: 73,
  noPerm: 77,
  tempFail: 75,
  config: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Stable error codes. Never renumber or rename: scripts match on them. */
export type TaskqErrorCode =
  | 'TASKQ_CONFIG_INVALID'
  | 'TASKQ_BROKER_URL_INVALID'
  | 'TASKQ_BROKER_UNAVAILABLE'
  | 'TASKQ_TASK_UNKNOWN'
  | 'TASKQ_CANVAS_INVALID'
  | 'TASKQ_TASK_DUPLICATE'
  | 'TASKQ_TASK_NAME_INVALID'
  | 'TASKQ_QUEUE_NAME_INVALID'
  | 'TASKQ_ARGS_UNSERIALIZABLE'
  | 'TASKQ_RESULT_UNSERIALIZABLE'
  | 'TASKQ_MESSAGE_INVALID'
  | 'TASKQ_OPTION_INVALID'
  | 'TASKQ_RESULT_TIMEOUT'
  | 'TASKQ_RESULT_DISABLED'
  | 'TASKQ_TASK_FAILED'
  | 'TASKQ_TASK_REVOKED'
  | 'TASKQ_APP_MODULE_INVALID'
  | 'TASKQ_CLOSED'
  | 'TASKQ_PIDFILE_LOCKED'
  | 'TASKQ_CANT_CREATE'
  | 'TASKQ_NODE_START_FAILED'
  | 'TASKQ_INTERNAL'
  | 'TASKQ_BROKER_OOM'
  | 'TASKQ_BROKER_READONLY'
  | 'TASKQ_BROKER_AUTH'
  | 'TASKQ_BROKER_MISCONF'
  | 'TASKQ_BROKER_WRONGTYPE'
  | 'TASKQ_BROKER_ERROR'
  | 'TASKQ_NATIVE_UNAVAILABLE'
  | 'TASKQ_NO_REPLY'
  | 'TASKQ_CAPTURE_FILE_INVALID'
  | 'TASKQ_CAPTURE_UNAVAILABLE'
  | 'TASKQ_CAPTURE_FAILED'
  | 'TASKQ_ARIA2_ERROR'
  | 'TASKQ_CACHE_MISS'
  | 'TASKQ_CACHE_FULL'
  | 'TASKQ_LISTEN_FAILED';

export interface TaskqErrorOptions {
  cause?: unknown;
  exitCode?: ExitCode;
}

/** Base class of every error taskq raises on purpose. */
export class TaskqError extends Error {
  readonly code: TaskqErrorCode;
  readonly exitCode: ExitCode;

  constructor(code: TaskqErrorCode, message: string, options: TaskqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TaskqError';
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.software;
  }
}

/** Bad configuration (file, environment or options): exit 78. */
export class ConfigError extends TaskqError {
  constructor(code: TaskqErrorCode, message: string, options: TaskqErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.config, ...options });
    this.name = 'ConfigError';
  }
}

/** Redis cannot be reached: exit 69. */
export class BrokerUnavailableError extends TaskqError {
  constructor(message: string, options: TaskqErrorOptions = {}) {
    super('TASKQ_BROKER_UNAVAILABLE', message, { exitCode: ExitCode.unavailable, ...options });
    this.name = 'BrokerUnavailableError';
  }
}

/** Thrown by a task to fail at once, whatever its retry policy says. */
export class UnrecoverableError extends Error {
  constructor(message = 'unrecoverable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/**
 * Control-flow error: thrown by `ctx.retry()` to ask for another attempt. Tasks do not construct it
 * themselves; they `throw ctx.retry({ countdown })` or just `await ctx.retry()`.
 */
export class Retry extends Error {
  readonly countdownMs: number | undefined;
  /** Most retries for this request (Celery's `max_retries` argument), beating the task's. */
  readonly maxRetries: number | undefined;
  constructor(message: string, countdownMs?: number, options?: { cause?: unknown; maxRetries?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Retry';
    this.countdownMs = countdownMs;
    this.maxRetries = options?.maxRetries;
  }
}

/**
 * A task asked for a retry past its maximum without saying which error to fail with (Celery's
 * name); with `exc`, the task fails with that error instead.
 */
export class MaxRetriesExceededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MaxRetriesExceededError';
  }
}

/** Raised inside a task when its soft time limit passes (its `ctx.signal` aborts too). */
export class SoftTimeLimitExceeded extends Error {
  constructor(message = 'soft time limit exceeded') {
    super(message);
    this.name = 'SoftTimeLimitExceeded';
  }
}

/** The abort reason a task's `ctx.signal` carries when the job is revoked with terminate. */
export class Revoked extends Error {
  constructor(message = 'revoked') {
    super(message);
    this.name = 'Revoked';
  }
}

/**
 * The abort reason a task's `ctx.signal` carries when its worker's warm shutdown timed out: the job is
 * put back at the front of its queue (whatever the task then throws), never failed.
 */
export class WorkerShutdown extends Error {
  constructor(message = 'the worker is shutting down: this job goes back to its queue') {
    super(message);
    this.name = 'WorkerShutdown';
  }
}

/** The job was stopped at its hard time limit. */
export class TimeLimitExceeded extends Error {
  constructor(message = 'hard time limit exceeded') {
    super(message);
    this.name = 'TimeLimitExceeded';
  }
}

/** What a remote failure looks like to the producer: the task's error, with its remote stack. */
export class TaskFailedError extends TaskqError {
  /** The error class name raised in the task (`TypeError`, `UnrecoverableError`, …). */
  readonly remoteName: string;
  /** The stack trace as printed in the worker. */
  readonly remoteStack: string | undefined;
  readonly taskId: string;
  readonly taskName: string;

  constructor(info: { taskId: string; taskName: string; name: string; message: string; stack?: string }) {
    super('TASKQ_TASK_FAILED', `task ${info.taskName}[${info.taskId}] failed: ${info.name}: ${info.message}`, {
      exitCode: ExitCode.failure,
    });
    this.name = 'TaskFailedError';
    this.remoteName = info.name;
    this.remoteStack = info.stack;
    this.taskId = info.taskId;
    this.taskName = info.taskName;
    if (info.stack) this.stack = `${this.name}: ${this.message}\n--- remote stack ---\n${info.stack}`;
  }
}

/** Returned by `get()` for a revoked task. */
export class TaskRevokedError extends TaskqError {
  constructor(taskId: string, reason: string) {
    super('TASKQ_TASK_REVOKED', `task ${taskId} was revoked: ${reason}`, { exitCode: ExitCode.failure });
    this.name = 'TaskRevokedError';
  }
}

/** `get({ timeout })` gave up waiting. */
export class ResultTimeoutError extends TaskqError {
  constructor(taskId: string, timeoutMs: number, state: string) {
    super(
      'TASKQ_RESULT_TIMEOUT',
      `no result for task ${taskId} within ${timeoutMs} ms (state ${state}): ` +
        (state !== 'PENDING'
          ? 'a worker has it under way; wait longer (a larger timeout), or see `taskq result` later.'
          : 'is a worker consuming its queue? Check with `taskq status`.'),
      { exitCode: ExitCode.tempFail },
    );
    this.name = 'ResultTimeoutError';
  }
}

/** Usage errors of the API or CLI: a bad option value. */
export class OptionError extends TaskqError {
  constructor(message: string, options: TaskqErrorOptions = {}) {
    super('TASKQ_OPTION_INVALID', message, { exitCode: ExitCode.usage, ...options });
    this.name = 'OptionError';
  }
}

/** A value as it should appear in a message: JSON where faithful, else its string form (NaN, symbols). */
export function show(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Turns anything thrown into an Error, keeping non-Error values visible. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const shown = typeof thrown === 'string' ? thrown : show(thrown);
  const err = new Error(`non-Error thrown: ${shown}`);
  err.name = 'NonErrorThrown';
  return err;
}

/**
 * A server that could not listen on `host:port`, said as what to do about it: the port in use (69),
 * not allowed to this user (77), or an address this machine does not have (78). `setting` names
 * where the port is chosen (e.g. "--port or TASKQ_CACHE_PORT"). Any other error is returned as it is.
 */
export function listenError(thrown: unknown, what: string, host: string, port: number, setting: string): Error {
  const err = toError(thrown);
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new TaskqError('TASKQ_LISTEN_FAILED', `${what}: ${at} is in use (another taskq up, or an old one still running?): stop what holds it, or choose another port with ${setting} (0: any free port)`, { exitCode: ExitCode.unavailable, cause: err });
  if (code === 'EACCES') return new TaskqError('TASKQ_LISTEN_FAILED', `${what}: this user may not listen on ${at}: choose a port above 1023 with ${setting}`, { exitCode: ExitCode.noPerm, cause: err });
  if (code === 'EADDRNOTAVAIL') return new TaskqError('TASKQ_LISTEN_FAILED', `${what}: ${host} is not an address of this machine: choose one it has (127.0.0.1 by default)`, { exitCode: ExitCode.config, cause: err });
  return err;
}
