/**
 * taskq — Celery-style distributed tasks for Node.js on Redis.
 *
 * ```ts
 * import { createApp } from 'taskq';
 * const app = createApp({ broker: process.env.TASKQ_BROKER_URL });
 * export const add = app.task('add', async (a: number, b: number) => a + b);
 * const r = await add.delay(2, 3);
 * await r.get({ timeout: 5000 }); // 5
 * ```
 * @packageDocumentation
 */
export { App, createApp } from './core/app.js';
export type { AppOptions, AppConfig } from './core/config.js';
export { Task } from './core/task.js';
export type { TaskOptions, ApplyOptions, TaskDefinition } from './core/task.js';
export type { TaskContext, RetryOptions } from './core/context.js';
export { AsyncResult } from './core/async-result.js';
export { GroupResult } from './core/group-result.js';
export { chain, chord, group, Chain, Chord, Group, Signature } from './core/canvas/canvas.js';
export type { Canvas, Kwargs, SignatureOptions } from './core/canvas/canvas.js';
export { MAX_CANVAS_DEPTH, MAX_CANVAS_TASKS } from './core/canvas/freeze.js';
export type { GetOptions } from './core/async-result.js';
export type { ResultRecord } from './core/result-record.js';
export type { TaskState } from './core/states.js';
export { READY_STATES, TASK_STATES } from './core/states.js';
export type { BackoffOption, BackoffSpec } from './core/retry-policy.js';
export type { Routes } from './core/routing.js';
export type { BeatEntrySpec, BeatSchedule, CatchUp } from './core/beat-spec.js';
export { BeatEntries } from './beat/entries.js';
export type { EntryInfo } from './beat/entries.js';
export { BeatService } from './beat/beat-service.js';
export { ControlClient } from './core/control-client.js';
export type { ControlOptions, Gathered } from './core/control-client.js';
export { INSPECT_METHODS, CONTROL_METHODS } from './core/control-protocol.js';
export type { InspectMethod, ControlMethod, InspectResults, ControlAck, ControlReply, NodeStats, TaskInfo } from './core/control-protocol.js';
export {
  TaskqError,
  ConfigError,
  BrokerUnavailableError,
  OptionError,
  UnrecoverableError,
  Retry,
  SoftTimeLimitExceeded,
  TimeLimitExceeded,
  TaskFailedError,
  TaskRevokedError,
  ResultTimeoutError,
  ExitCode,
} from './errors.js';
export type { TaskqErrorCode } from './errors.js';
export { defaults } from './defaults.js';
export { WorkerNode } from './worker/worker-node.js';
export type { WorkerNodeOptions, WorkerStats } from './worker/worker-node.js';
export { EventReader } from './events/event-reader.js';
export type { TaskqEvent, EventType } from './events/event-types.js';
export type { EventCursor, ReadOptions } from './events/event-reader.js';
