/**
 * App configuration: one schema, resolved once from options given in code → TASKQ_* environment →
 * defaults (core/defaults.ts). Invalid values fail loudly, naming the setting and the value.
 */
import { normalizePublishPolicy, type PublishPolicy, type RetryPolicyOptions } from './publish-policy.js';
import { defaults } from '../defaults.js';
import { ConfigError, show } from '../errors.js';
import { unknownOptionProblem } from './option-names.js';
import type { Routes } from './routing.js';
import type { BeatSchedule } from './beat-spec.js';

export interface AppOptions {
  /** Broker URL. Falls back to TASKQ_BROKER_URL, then redis://127.0.0.1:6379/0. */
  broker?: string | undefined;
  /** Prefix of every Redis key (TASKQ_KEY_PREFIX). Lets several apps share one Redis. */
  keyPrefix?: string | undefined;
  /** Queue for tasks no route names (TASKQ_DEFAULT_QUEUE). */
  defaultQueue?: string | undefined;
  /** Task name or glob → queue. */
  routes?: Routes | undefined;
  /** How long results are kept (ms, TASKQ_RESULT_EXPIRES_MS). */
  resultExpiresMs?: number | undefined;
  /** Write events to the event stream at all (TASKQ_EVENTS=0 turns every one off). */
  events?: boolean | undefined;
  /**
   * Worker nodes write task events — received, started, succeeded, failed, retried, revoked,
   * progress (TASKQ_TASK_EVENTS=1; a node's `-E`). Off by default, as Celery's
   * worker_send_task_events: they cost three stream entries per job. `taskq control enable_events`
   * turns them on in running nodes, and the web UI does so while it runs (as Flower does).
   */
  taskEvents?: boolean | undefined;
  /**
   * Also announce task-sent when a job is sent (TASKQ_SENT_EVENTS=1). Off by default, as Celery's
   * task_send_sent_event: it costs a stream entry per job at send time (about 130 bytes of Redis).
   */
  sentEvents?: boolean | undefined;
  /** Approximate number of events the stream keeps (TASKQ_EVENTS_MAX_LEN). */
  eventsMaxLen?: number | undefined;
  /** Events older than this are trimmed too (ms, TASKQ_EVENTS_MAX_AGE_MS). */
  eventsMaxAgeMs?: number | undefined;
  /** Most dead letters kept per queue; the oldest go first (TASKQ_DEAD_MAX_LEN). */
  deadMaxLen?: number | undefined;
  /** Dead letters older than this are deleted (ms, TASKQ_DEAD_MAX_AGE_MS). */
  deadMaxAgeMs?: number | undefined;
  /** A running job whose worker shows no life for this long is re-delivered (ms, TASKQ_STALL_INTERVAL_MS). */
  stallIntervalMs?: number | undefined;
  /** Re-deliveries after stalls before a job fails for good (TASKQ_MAX_STALLS). */
  maxStalls?: number | undefined;
  /** Worker heartbeat period (ms, TASKQ_HEARTBEAT_MS). */
  heartbeatMs?: number | undefined;
  /** How sends wait out a broker outage (Celery's task_publish_retry_policy; seconds). */
  publishRetryPolicy?: RetryPolicyOptions | undefined;
  /** Periodic tasks `taskq beat` sends (Celery's beat_schedule): name → {task, every | cron, …}. */
  beatSchedule?: BeatSchedule | undefined;
}

export interface AppConfig {
  broker: string;
  keyPrefix: string;
  defaultQueue: string;
  routes: Routes | undefined;
  resultExpiresMs: number;
  events: boolean;
  taskEvents: boolean;
  sentEvents: boolean;
  eventsMaxLen: number;
  eventsMaxAgeMs: number;
  deadMaxLen: number;
  deadMaxAgeMs: number;
  stallIntervalMs: number;
  maxStalls: number;
  heartbeatMs: number;
  publishRetryPolicy: PublishPolicy;
}

type Env = Record<string, string | undefined>;

const int = (raw: string): number | undefined => (/^\d+$/.test(raw.trim()) ? Number(raw) : undefined);
const bool = (raw: string): boolean | undefined =>
  /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : undefined;
const text = (raw: string): string => raw;

/**
 * One setting: the option given in code wins, then the environment variable, then the default.
 * Returns the value and where it came from, so an invalid value names its source.
 */
function setting<T>(
  env: Env,
  option: T | undefined,
  optionName: string,
  envName: string,
  parse: (raw: string) => T | undefined,
  expected: string,
  fallback: T,
): { value: T; source: string } {
  // An invalid variable fails even when an option overrides it: it is wrong wherever it is read.
  const raw = env[envName];
  let fromEnv: T | undefined;
  if (raw !== undefined && raw !== '') {
    fromEnv = parse(raw);
    if (fromEnv === undefined) throw new ConfigError('TASKQ_CONFIG_INVALID', `${envName}=${JSON.stringify(raw)} is not ${expected}`);
  }
  // '' counts as unset: `createApp({ broker: process.env.X })` with X empty means "not given".
  if (option !== undefined && option !== '') return { value: option, source: `app option ${optionName}` };
  if (fromEnv !== undefined) return { value: fromEnv, source: envName };
  return { value: fallback, source: `default ${optionName}` };
}

function atLeast(s: { value: number; source: string }, min: number): number {
  if (typeof s.value !== 'number' || !Number.isInteger(s.value) || s.value < min) {
    throw new ConfigError('TASKQ_CONFIG_INVALID', `${s.source} must be an integer ≥ ${min}, got ${show(s.value)}`);
  }
  return s.value;
}

function publishPolicyOption(value: RetryPolicyOptions | undefined): PublishPolicy {
  try {
    return normalizePublishPolicy(value, defaults.publishRetryPolicy, 'the app option publishRetryPolicy');
  } catch (err) {
    throw new ConfigError('TASKQ_CONFIG_INVALID', (err as Error).message);
  }
}

/** Resolves the app's configuration; throws ConfigError (exit 78) on the first invalid value. */
/** What createApp's options take (AppOptions). */
const APP_OPTION_NAMES: ReadonlySet<string> = new Set(['broker', 'keyPrefix', 'defaultQueue', 'routes', 'resultExpiresMs', 'events', 'taskEvents', 'sentEvents', 'eventsMaxLen', 'eventsMaxAgeMs', 'deadMaxLen', 'deadMaxAgeMs', 'stallIntervalMs', 'maxStalls', 'heartbeatMs', 'publishRetryPolicy', 'beatSchedule']);

export function resolveAppConfig(options: AppOptions = {}, env: Env = process.env): AppConfig {
  const unknown = unknownOptionProblem(options, APP_OPTION_NAMES, 'createApp');
  if (unknown) throw new ConfigError('TASKQ_CONFIG_INVALID', unknown);
  const prefix = setting(env, options.keyPrefix, 'keyPrefix', 'TASKQ_KEY_PREFIX', text, 'a key prefix', defaults.keyPrefix);
  if (!/^[A-Za-z0-9_.\-{}:]{1,64}$/.test(prefix.value)) {
    throw new ConfigError('TASKQ_CONFIG_INVALID', `${prefix.source} ${JSON.stringify(prefix.value)} must be 1–64 letters, digits or _.-{}:`);
  }
  const ms = 'a number of ms';
  return {
    broker: setting(env, options.broker, 'broker', 'TASKQ_BROKER_URL', text, 'a URL', defaults.brokerUrl).value,
    keyPrefix: prefix.value,
    defaultQueue: setting(env, options.defaultQueue, 'defaultQueue', 'TASKQ_DEFAULT_QUEUE', text, 'a queue name', defaults.defaultQueue).value,
    routes: options.routes,
    resultExpiresMs: atLeast(setting(env, options.resultExpiresMs, 'resultExpiresMs', 'TASKQ_RESULT_EXPIRES_MS', int, ms, defaults.resultExpiresMs), 1),
    events: setting(env, options.events, 'events', 'TASKQ_EVENTS', bool, 'a boolean (1/0)', true).value,
    taskEvents: setting(env, options.taskEvents, 'taskEvents', 'TASKQ_TASK_EVENTS', bool, 'a boolean (1/0)', false).value,
    sentEvents: setting(env, options.sentEvents, 'sentEvents', 'TASKQ_SENT_EVENTS', bool, 'a boolean (1/0)', false).value,
    eventsMaxLen: atLeast(setting(env, options.eventsMaxLen, 'eventsMaxLen', 'TASKQ_EVENTS_MAX_LEN', int, 'a count', defaults.eventsMaxLen), 1),
    eventsMaxAgeMs: atLeast(setting(env, options.eventsMaxAgeMs, 'eventsMaxAgeMs', 'TASKQ_EVENTS_MAX_AGE_MS', int, ms, defaults.eventsMaxAgeMs), 1000),
    deadMaxLen: atLeast(setting(env, options.deadMaxLen, 'deadMaxLen', 'TASKQ_DEAD_MAX_LEN', int, 'a count', defaults.deadMaxLen), 1),
    deadMaxAgeMs: atLeast(setting(env, options.deadMaxAgeMs, 'deadMaxAgeMs', 'TASKQ_DEAD_MAX_AGE_MS', int, ms, defaults.deadMaxAgeMs), 1000),
    stallIntervalMs: atLeast(setting(env, options.stallIntervalMs, 'stallIntervalMs', 'TASKQ_STALL_INTERVAL_MS', int, ms, defaults.stallIntervalMs), 100),
    maxStalls: atLeast(setting(env, options.maxStalls, 'maxStalls', 'TASKQ_MAX_STALLS', int, 'a count', defaults.maxStalls), 0),
    heartbeatMs: atLeast(setting(env, options.heartbeatMs, 'heartbeatMs', 'TASKQ_HEARTBEAT_MS', int, ms, defaults.heartbeatMs), 100),
    publishRetryPolicy: publishPolicyOption(options.publishRetryPolicy),
  };
}
