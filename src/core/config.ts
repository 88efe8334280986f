/**
 * App configuration: one schema, resolved once from options given in code → TASKQ_* environment →
 * defaults (core/defaults.ts). Invalid values fail loudly, naming the setting and the value.
 */
import { defaults } from './defaults.js';
import { ConfigError } from './errors.js';
import type { Routes } from './routing.js';

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
  /** Write task and worker events to the event stream (TASKQ_EVENTS=0 turns them off). */
  events?: boolean | undefined;
  /** Approximate number of events the stream keeps (TASKQ_EVENTS_MAX_LEN). */
  eventsMaxLen?: number | undefined;
  /** A running job whose worker shows no life for this long is re-delivered (ms, TASKQ_STALL_INTERVAL_MS). */
  stallIntervalMs?: number | undefined;
  /** Re-deliveries after stalls before a job fails for good (TASKQ_MAX_STALLS). */
  maxStalls?: number | undefined;
  /** Worker heartbeat period (ms, TASKQ_HEARTBEAT_MS). */
  heartbeatMs?: number | undefined;
}

export interface AppConfig {
  broker: string;
  keyPrefix: string;
  defaultQueue: string;
  routes: Routes | undefined;
  resultExpiresMs: number;
  events: boolean;
  eventsMaxLen: number;
  stallIntervalMs: number;
  maxStalls: number;
  heartbeatMs: number;
}

type Env = Record<string, string | undefined>;

function fromEnv(env: Env, name: string, where: string, parse: (raw: string) => unknown): unknown {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = parse(raw);
  if (value === undefined) throw new ConfigError('TASKQ_CONFIG_INVALID', `${name}=${JSON.stringify(raw)} is not ${where}`);
  return value;
}

const int = (raw: string): number | undefined => (/^\d+$/.test(raw.trim()) ? Number(raw) : undefined);
const bool = (raw: string): boolean | undefined =>
  /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : undefined;

function positiveInt(value: unknown, name: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError('TASKQ_CONFIG_INVALID', `app option ${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Resolves the app's configuration; throws ConfigError (exit 78) on the first invalid value. */
export function resolveAppConfig(options: AppOptions = {}, env: Env = process.env): AppConfig {
  const pick = <T>(option: T | undefined, envValue: unknown, fallback: T): T =>
    option !== undefined ? option : envValue !== undefined ? (envValue as T) : fallback;
  const keyPrefix = pick(options.keyPrefix, env.TASKQ_KEY_PREFIX || undefined, defaults.keyPrefix);
  if (!/^[A-Za-z0-9_.\-{}:]{1,64}$/.test(keyPrefix)) {
    throw new ConfigError('TASKQ_CONFIG_INVALID', `key prefix ${JSON.stringify(keyPrefix)} must be 1–64 letters, digits or _.-{}:`);
  }
  const broker = pick(options.broker, env.TASKQ_BROKER_URL || undefined, defaults.brokerUrl);
  return {
    broker,
    keyPrefix,
    defaultQueue: pick(options.defaultQueue, env.TASKQ_DEFAULT_QUEUE || undefined, defaults.defaultQueue),
    routes: options.routes,
    resultExpiresMs: positiveInt(
      pick(options.resultExpiresMs, fromEnv(env, 'TASKQ_RESULT_EXPIRES_MS', 'a number of ms', int), defaults.resultExpiresMs),
      'resultExpiresMs',
    ),
    events: pick(options.events, fromEnv(env, 'TASKQ_EVENTS', 'a boolean (1/0)', bool), true),
    eventsMaxLen: positiveInt(
      pick(options.eventsMaxLen, fromEnv(env, 'TASKQ_EVENTS_MAX_LEN', 'a count', int), defaults.eventsMaxLen),
      'eventsMaxLen',
    ),
    stallIntervalMs: positiveInt(
      pick(options.stallIntervalMs, fromEnv(env, 'TASKQ_STALL_INTERVAL_MS', 'a number of ms', int), defaults.stallIntervalMs),
      'stallIntervalMs',
      100,
    ),
    maxStalls: positiveInt(pick(options.maxStalls, fromEnv(env, 'TASKQ_MAX_STALLS', 'a count', int), defaults.maxStalls), 'maxStalls', 0),
    heartbeatMs: positiveInt(
      pick(options.heartbeatMs, fromEnv(env, 'TASKQ_HEARTBEAT_MS', 'a number of ms', int), defaults.heartbeatMs),
      'heartbeatMs',
      100,
    ),
  };
}
