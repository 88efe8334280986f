/**
 * Runs one attempt of a job in this process and decides its outcome (success, retry, failure).
 * It touches Redis only through the `progress` callback; recording the outcome is the caller's job.
 */
import type { Logger } from 'pino';
import type { TaskContext, RetryOptions } from '../core/context.js';
import { MaxRetriesExceededError, Retry, SoftTimeLimitExceeded, TaskqError, TimeLimitExceeded, toError, UnrecoverableError } from '../errors.js';
import { retryRequest } from '../core/retry-request.js';
import { decodeJobRecord, errorInfo, peekTaskName, type ErrorInfo, type JobRecord } from '../broker/message.js';
import { decideRetry } from '../core/retry-policy.js';
import { toJson } from '../core/serialize.js';
import type { TaskDefinition } from '../core/task.js';
import { checkCustomState } from '../core/states.js';
import { userTaskNames } from '../core/canvas/frozen.js';
import type { Execution, Executor, Settled } from './executor.js';

export type Outcome =
  | { kind: 'success'; resultJson: string }
  | { kind: 'retry'; error: ErrorInfo; delayMs: number }
  | { kind: 'failure'; error: ErrorInfo; reason: string }
  | { kind: 'revoked'; reason: string };

export interface Attempt {
  /** Set when the outcome was decided at the hard time limit while the handler still runs: it settles here. */
  lingering?: Promise<void>;
  id: string;
  queue: string;
  /** The decoded record, when it could be decoded. */
  record: JobRecord | undefined;
  taskName: string;
  outcome: Outcome;
  runtimeMs: number;
}

export interface RunJobInput {
  id: string;
  queue: string;
  raw: string;
  node: string;
  tasks: ReadonlyMap<string, TaskDefinition>;
  log: Logger;
  /** The job's abort signal, created on first use. */
  signal: () => AbortSignal;
  /** Aborts the job's signal with this reason. */
  abort: (reason: Error) => void;
  /** Where the handler runs (the async pool, or a threads / processes pool). */
  executor: Executor;
  /** Told about the execution as soon as it starts (so it can be killed on revoke --terminate). */
  onExecution?: (execution: Execution) => void;
  /** The node's default time limits (ms), used when neither the call nor the task sets one. */
  limits?: { timeLimitMs?: number | undefined; softTimeLimitMs?: number | undefined; byTask?: ReadonlyMap<string, { timeLimitMs?: number | undefined; softTimeLimitMs?: number | undefined }> };
  /** A progress value, and with `state` a custom state (ctx.updateState). */
  progress: (value: unknown, state?: string) => Promise<void>;
  /** Where the tasks came from, for the unknown-task message (e.g. the -A module). */
  appOrigin: string;
}

/** An outcome decided without running the handler (revoked while held, an error in the node). */
/** A pool child died under the job (Celery's WorkerLostError). */
export function workerLost(attempt: Attempt): boolean {
  return attempt.outcome.kind === 'failure' && attempt.outcome.error.name === 'WorkerLostError';
}

export function unrunAttempt(job: { id: string; raw: string }, queue: string, outcome: Outcome): Attempt {
  return { id: job.id, queue, record: undefined, taskName: peekTaskName(job.raw), outcome, runtimeMs: 0 };
}

/** The outcome of a job the node itself failed to handle (an error in taskq, not in the task). */
export function internalFailure(id: string, err: Error): Outcome {
  return failure(new TaskqError('TASKQ_INTERNAL', `the worker failed while handling job ${id}: ${err.message}`, { cause: err }), 'worker error');
}

export function failure(err: Error, reason: string): Outcome {
  return { kind: 'failure', error: errorInfo(err), reason };
}

function unknownTask(taskName: string, tasks: ReadonlyMap<string, TaskDefinition>, origin: string): TaskqError {
  const known = userTaskNames(tasks).sort();
  return new TaskqError(
    'TASKQ_TASK_UNKNOWN',
    `task ${JSON.stringify(taskName)} is not registered in this worker (${origin}); ` +
      `registered: ${known.length ? known.join(', ') : 'none'}. Register it in the app the worker loads (-A), ` +
      `or route it to a queue whose workers have it.`,
  );
}

/**
 * The task's `ctx`. One object per job with its methods on the prototype: at thousands of jobs a
 * second, an object literal of getters and closures per job was a measurable share of the worker's
 * garbage. Its own fields are the job's data (what JSON, Object.keys and a spread show); the node's
 * parts are private. Its signal and log are made on first use (most tasks read neither); `progress`
 * and `updateState` stay callable when taken off the object (`const { progress } = ctx`).
 */
class JobContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly queue: string;
  readonly node: string;
  readonly #input: RunJobInput;
  #logger: Logger | undefined;
  #bound: Pick<TaskContext, 'progress' | 'updateState'> | undefined;

  constructor(input: RunJobInput, record: JobRecord) {
    this.id = input.id;
    this.name = record.data.task;
    this.attempt = record.options.attempt;
    this.kwargs = record.data.kwargs ?? {};
    this.queue = input.queue;
    this.node = input.node;
    this.#input = input;
  }

  get signal(): AbortSignal {
    return this.#input.signal();
  }

  get log(): Logger {
    return (this.#logger ??= this.#input.log.child({ task: this.name, jobId: this.id, attempt: this.attempt }));
  }

  get progress(): TaskContext['progress'] {
    return this.#methods().progress;
  }

  get updateState(): TaskContext['updateState'] {
    return this.#methods().updateState;
  }

  retry(options: RetryOptions = {}): never {
    throw retryRequest(options);
  }

  #methods(): Pick<TaskContext, 'progress' | 'updateState'> {
    const input = this.#input;
    return (this.#bound ??= {
      progress: (value: unknown) => input.progress(value),
      updateState: (state: string, meta?: unknown) => input.progress(meta, checkCustomState(state)),
    });
  }
}

/** How the handler ended: settled, or stopped at the hard time limit (the async pool's code may linger on). */
type Ended = { hard: false; settled: Settled } | { hard: true; thrown: Error; lingering: Promise<void> | undefined };

/** Runs the handler under its soft and hard time limits. */
async function runWithLimits(input: RunJobInput, def: TaskDefinition, record: JobRecord, ctx: TaskContext): Promise<Ended> {
  // A call's own limits, then those set by remote control (time_limit), the task's, the node's.
  const set = input.limits?.byTask?.get(def.name);
  const soft = record.options.softTimeLimitMs ?? set?.softTimeLimitMs ?? def.softTimeLimitMs ?? input.limits?.softTimeLimitMs;
  const hard = record.options.timeLimitMs ?? set?.timeLimitMs ?? def.timeLimitMs ?? input.limits?.timeLimitMs;
  // Keyword arguments come after the positional ones, as one object (and in ctx.kwargs).
  const kwargs = record.data.kwargs;
  const args = kwargs && Object.keys(kwargs).length > 0 ? [...record.data.args, kwargs] : record.data.args;
  const execution = input.executor.start({ def, ctx, args });
  input.onExecution?.(execution);
  const settled = execution.settled;
  const softTimer = soft ? setTimeout(() => input.abort(new SoftTimeLimitExceeded(`soft time limit (${soft} ms) exceeded`)), soft) : undefined;
  let hardTimer: NodeJS.Timeout | undefined;
  const hardHit = hard ? new Promise<'hard'>((resolve) => (hardTimer = setTimeout(() => resolve('hard'), hard))) : undefined;
  const first = hardHit ? await Promise.race([settled, hardHit]) : await settled;
  clearTimeout(softTimer);
  clearTimeout(hardTimer);
  if (first !== 'hard') return { hard: false, settled: first };
  if (execution.kill) {
    // threads / processes: the child is killed (and replaced): the code really stops.
    const thrown = new TimeLimitExceeded(`hard time limit (${hard} ms) exceeded: the task was stopped`);
    execution.kill(thrown);
    await settled;
    return { hard: true, thrown, lingering: undefined };
  }
  input.abort(new TimeLimitExceeded(`hard time limit (${hard} ms) exceeded`));
  const thrown = new TimeLimitExceeded(
    `hard time limit (${hard} ms) exceeded. The async pool cannot stop code that ignores ctx.signal: ` +
      'if this task does, it is still running in the worker (its slot stays taken until it ends); ' +
      'run it in a threads or processes pool (-P) to have it killed.',
  );
  return { hard: true, thrown, lingering: settled.then(() => undefined) };
}

/** Success, retry or failure, from how the handler ended. */
function outcomeOf(ended: Ended, record: JobRecord, def: TaskDefinition): Outcome {
  const settled = ended.hard ? undefined : ended.settled;
  if (settled?.ok) {
    if ('json' in settled) return { kind: 'success', resultJson: settled.json };
    try {
      return { kind: 'success', resultJson: toJson(settled.value, 'result', 'TASKQ_RESULT_UNSERIALIZABLE', `task ${def.name} returned a value taskq cannot store`) };
    } catch (err) {
      return failure(new UnrecoverableError((err as Error).message, { cause: err }), 'unserialisable result');
    }
  }
  const err = toError(ended.hard ? ended.thrown : (settled as { thrown: unknown }).thrown);
  const decision = decideRetry(err, record.options.attempt, {
    retries: record.options.retries ?? def.retries,
    backoff: record.options.backoff ?? def.backoff,
    autoretryFor: def.autoretryFor,
  });
  let reported = err instanceof Retry && err.cause instanceof Error ? err.cause : err;
  if (decision.retry) return { kind: 'retry', error: errorInfo(reported), delayMs: decision.delayMs };
  // As Celery: past its maximum, ctx.retry() fails with its `exc`, else MaxRetriesExceededError.
  if (reported instanceof Retry) reported = new MaxRetriesExceededError(`task ${def.name} asked for a retry: ${decision.reason}`);
  return failure(reported, ended.hard ? 'hard time limit exceeded' : decision.reason);
}

function attemptOf(input: RunJobInput, started: number, record: JobRecord | undefined, taskName: string, outcome: Outcome, lingering?: Promise<void>): Attempt {
  const attempt: Attempt = { id: input.id, queue: input.queue, record, taskName, outcome, runtimeMs: performance.now() - started };
  if (lingering) attempt.lingering = lingering;
  return attempt;
}

export async function runJob(input: RunJobInput): Promise<Attempt> {
  const started = performance.now();
  let record: JobRecord;
  try {
    record = decodeJobRecord(input.raw, input.id, input.queue);
  } catch (err) {
    return attemptOf(input, started, undefined, '<undecodable>', failure(toError(err), 'undecodable payload'));
  }
  const taskName = record.data.task;
  const def = input.tasks.get(taskName);
  if (!def) return attemptOf(input, started, record, taskName, failure(unknownTask(taskName, input.tasks, input.appOrigin), 'unknown task'));
  const ended = await runWithLimits(input, def, record, new JobContext(input, record));
  return attemptOf(input, started, record, taskName, outcomeOf(ended, record, def), ended.hard ? ended.lingering : undefined);
}

/** The attempt did not run because the pool had no child to run it in (it goes back to its queue). */
export function poolUnavailable(attempt: Attempt): boolean {
  const o = attempt.outcome;
  return (o.kind === 'failure' || o.kind === 'retry') && o.error.name === 'PoolUnavailable';
}
