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
