import { OptionError, show } from '../errors.js';

/** Task states, as in Celery. Wire values: never rename. */
export type TaskState = 'PENDING' | 'RECEIVED' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'RETRY' | 'REVOKED';

export const TASK_STATES: readonly TaskState[] = [
  'PENDING',
  'RECEIVED',
  'STARTED',
  'SUCCESS',
  'FAILURE',
  'RETRY',
  'REVOKED',
];

/** States after which nothing more happens to a task. */
export const READY_STATES: ReadonlySet<TaskState> = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

export function isReadyState(state: TaskState): boolean {
  return READY_STATES.has(state);
}

/** A custom state's name: upper-case, not one of Celery's own (those are reached by returning, throwing, retrying). */
export function checkCustomState(state: string): string {
  if (typeof state !== 'string' || !/^[A-Z][A-Z0-9_]{0,39}$/.test(state)) throw new OptionError(`ctx.updateState: the state must be upper-case letters, digits and _ (e.g. 'PROGRESS'), got ${show(state)}`);
  if ((TASK_STATES as readonly string[]).includes(state)) throw new OptionError(`ctx.updateState: ${state} is one of Celery's own states; a task ends by returning (SUCCESS), throwing (FAILURE) or ctx.retry() (RETRY)`);
  return state;
}
