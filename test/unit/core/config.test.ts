import { describe, expect, it } from 'vitest';
import { resolveAppConfig } from '../../../src/core/config.js';
import { defaults } from '../../../src/defaults.js';
import { ConfigError } from '../../../src/errors.js';
import { thrown } from '../../helpers/thrown.js';

type Options = Parameters<typeof resolveAppConfig>[0];

function configError(options: Options, env: Record<string, string | undefined>): ConfigError {
  const err = thrown(() => resolveAppConfig(options, env));
  expect(err).toBeInstanceOf(ConfigError);
  const e = err as ConfigError;
  expect(e.code).toBe('TASKQ_CONFIG_INVALID');
  expect(e.exitCode).toBe(78);
  return e;
}

const fullEnv = {
  TASKQ_BROKER_URL: 'redis://env-host:6390/3',
  TASKQ_KEY_PREFIX: 'envp',
  TASKQ_DEFAULT_QUEUE: 'q_env',
  TASKQ_RESULT_EXPIRES_MS: '60000',
  TASKQ_EVENTS: '0',
  TASKQ_TASK_EVENTS: '1',
  TASKQ_SENT_EVENTS: '1',
  TASKQ_EVENTS_MAX_LEN: '500',
  TASKQ_EVENTS_MAX_AGE_MS: '30000',
  TASKQ_DEAD_MAX_LEN: '50',
  TASKQ_DEAD_MAX_AGE_MS: '3600000',
  TASKQ_STALL_INTERVAL_MS: '1500',
  TASKQ_MAX_STALLS: '0',
  TASKQ_HEARTBEAT_MS: '250',
};

describe('resolveAppConfig precedence', () => {
  it('uses the defaults with an empty environment', () => {
    expect(resolveAppConfig({}, {})).toEqual({
      broker: 'redis://127.0.0.1:6379/0',
      keyPrefix: 'taskq',
      defaultQueue: 'default',
      routes: undefined,
      resultExpiresMs: 86_400_000,
      events: true,
      taskEvents: false,
      sentEvents: false,
      eventsMaxLen: 1_500_000,
      eventsMaxAgeMs: 600_000,
      deadMaxLen: 10_000,
      deadMaxAgeMs: 604_800_000,
      stallIntervalMs: 5000,
      maxStalls: 3,
      heartbeatMs: 2000,
      publishRetryPolicy: { maxRetries: 10, intervalStart: 0, intervalStep: 0.5, intervalMax: 3 },
    });
    expect(resolveAppConfig({}, {}).resultExpiresMs).toBe(defaults.resultExpiresMs);
  });

  it('takes every setting from TASKQ_* variables', () => {
    expect(resolveAppConfig({}, fullEnv)).toEqual({
      broker: 'redis://env-host:6390/3',
      keyPrefix: 'envp',
      defaultQueue: 'q_env',
      routes: undefined,
      resultExpiresMs: 60_000,
      events: false,
      taskEvents: true,
      sentEvents: true,
      eventsMaxLen: 500,
      eventsMaxAgeMs: 30_000,
      deadMaxLen: 50,
      deadMaxAgeMs: 3_600_000,
      stallIntervalMs: 1500,
      maxStalls: 0,
      heartbeatMs: 250,
      publishRetryPolicy: defaults.publishRetryPolicy,
    });
  });

  it('options in code win over the environment', () => {
    const routes = { 'video.*': 'q_download' };
    expect(
      resolveAppConfig(
        {
          broker: 'redis://opt:6379/1',
          keyPrefix: 'optp',
          defaultQueue: 'q_opt',
          routes,
          resultExpiresMs: 1000,
          events: true,
          taskEvents: false,
          sentEvents: false,
          eventsMaxLen: 10,
          eventsMaxAgeMs: 5000,
          deadMaxLen: 5,
          deadMaxAgeMs: 2000,
          stallIntervalMs: 100,
          maxStalls: 7,
          heartbeatMs: 100,
          publishRetryPolicy: { maxRetries: 1 },
        },
        fullEnv,
      ),
    ).toEqual({
      broker: 'redis://opt:6379/1',
      keyPrefix: 'optp',
      defaultQueue: 'q_opt',
      routes,
      resultExpiresMs: 1000,
      events: true,
      taskEvents: false,
      sentEvents: false,
      eventsMaxLen: 10,
      eventsMaxAgeMs: 5000,
      deadMaxLen: 5,
      deadMaxAgeMs: 2000,
      stallIntervalMs: 100,
      maxStalls: 7,
      heartbeatMs: 100,
      publishRetryPolicy: { ...defaults.publishRetryPolicy, maxRetries: 1 },
    });
  });

  it('options set to undefined fall through to the environment', () => {
    expect(resolveAppConfig({ keyPrefix: undefined, events: undefined }, fullEnv)).toMatchObject({ keyPrefix: 'envp', events: false });
  });

  it('ignores empty environment values', () => {
    const empty = Object.fromEntries(Object.keys(fullEnv).map((k) => [k, '']));
    expect(resolveAppConfig({}, empty)).toEqual(resolveAppConfig({}, {}));
  });

  it('reads only the env object it is given', () => {
    expect(resolveAppConfig({}, { TASKQ_HEARTBEAT_MS: '300' }).heartbeatMs).toBe(300);
  });

  it.each([
    ['1', true],
    ['true', true],
    ['YES', true],
    ['on', true],
    ['0', false],
    ['False', false],
    ['no', false],
    ['OFF', false],
  ])('TASKQ_EVENTS=%s → %s', (raw, expected) => {
    expect(resolveAppConfig({}, { TASKQ_EVENTS: raw }).events).toBe(expected);
  });
});

describe('resolveAppConfig: invalid environment values', () => {
  it.each([
    ['TASKQ_EVENTS', 'maybe', 'a boolean (1/0)'],
    ['TASKQ_TASK_EVENTS', 'sometimes', 'a boolean (1/0)'],
    ['TASKQ_RESULT_EXPIRES_MS', '1e3', 'a number of ms'],
    ['TASKQ_RESULT_EXPIRES_MS', '-5', 'a number of ms'],
    ['TASKQ_EVENTS_MAX_LEN', 'lots', 'a count'],
    ['TASKQ_STALL_INTERVAL_MS', '5s', 'a number of ms'],
    ['TASKQ_MAX_STALLS', '2.5', 'a count'],
    ['TASKQ_HEARTBEAT_MS', 'fast', 'a number of ms'],
  ])('%s=%s is refused, naming the variable and the value', (name, raw, what) => {
    expect(configError({}, { [name]: raw }).message).toBe(`${name}=${JSON.stringify(raw)} is not ${what}`);
  });

  it('an invalid variable is refused even when an option overrides it', () => {
    // Fails loudly rather than hiding a broken deployment setting.
    expect(configError({ events: true }, { TASKQ_EVENTS: 'maybe' }).message).toContain('TASKQ_EVENTS="maybe"');
  });

  it('a key prefix from the environment is checked', () => {
    expect(configError({}, { TASKQ_KEY_PREFIX: 'has space' }).message).toContain('"has space"');
  });

  it.each([
    ['TASKQ_RESULT_EXPIRES_MS', '0'],
    ['TASKQ_EVENTS_MAX_LEN', '0'],
    ['TASKQ_STALL_INTERVAL_MS', '50'],
    ['TASKQ_HEARTBEAT_MS', '99'],
  ])('%s=%s (a number out of range) is refused, naming the variable', (name, raw) => {
    const e = configError({}, { [name]: raw });
    expect(e.message).toContain(`got ${raw}`);
    expect(e.message).toContain(name);
  });

  it('names TASKQ_KEY_PREFIX when the prefix from the environment is invalid', () => {
    expect(configError({}, { TASKQ_KEY_PREFIX: 'has space' }).message).toContain('TASKQ_KEY_PREFIX');
  });
});

describe('resolveAppConfig: invalid options', () => {
  it.each<[keyof NonNullable<Options>, unknown, string]>([
    ['resultExpiresMs', 0, 'app option resultExpiresMs must be an integer ≥ 1, got 0'],
    ['resultExpiresMs', 1.5, 'app option resultExpiresMs must be an integer ≥ 1, got 1.5'],
    ['eventsMaxLen', '10', 'app option eventsMaxLen must be an integer ≥ 1, got "10"'],
    ['stallIntervalMs', 99, 'app option stallIntervalMs must be an integer ≥ 100, got 99'],
    ['heartbeatMs', 10, 'app option heartbeatMs must be an integer ≥ 100, got 10'],
    ['maxStalls', -1, 'app option maxStalls must be an integer ≥ 0, got -1'],
  ])('%s: %s is refused', (name, value, message) => {
    expect(configError({ [name]: value } as Options, {}).message).toBe(message);
  });

  it('accepts the lower bounds', () => {
    expect(resolveAppConfig({ resultExpiresMs: 1, eventsMaxLen: 1, stallIntervalMs: 100, heartbeatMs: 100, maxStalls: 0 }, {})).toMatchObject({
      resultExpiresMs: 1,
      eventsMaxLen: 1,
      stallIntervalMs: 100,
      heartbeatMs: 100,
      maxStalls: 0,
    });
  });

  it('checks the key prefix: 1–64 of letters, digits, _ . - { } :', () => {
    expect(resolveAppConfig({ keyPrefix: '{app}:v1.x_y-z' }, {}).keyPrefix).toBe('{app}:v1.x_y-z');
    expect(resolveAppConfig({ keyPrefix: 'k'.repeat(64) }, {}).keyPrefix).toBe('k'.repeat(64));
    expect(configError({ keyPrefix: 'k'.repeat(65) }, {}).message).toContain('must be 1–64 letters, digits or _.-{}:');
    expect(resolveAppConfig({ keyPrefix: '' }, {}).keyPrefix).toBe('taskq'); // '' = not given
    expect(configError({}, { TASKQ_KEY_PREFIX: 'a b' }).message).toBe('TASKQ_KEY_PREFIX "a b" must be 1–64 letters, digits or _.-{}:');
    configError({ keyPrefix: 'a/b' }, {});
  });
});
