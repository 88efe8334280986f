import { describe, expect, it } from 'vitest';
import { TaskqError } from '../../../src/errors.js';
import { decodeJobRecord, encodeJobRecord, errorInfo, peekTaskName, type JobRecord } from '../../../src/broker/message.js';
import { thrown } from '../../helpers/thrown.js';

function record(): JobRecord {
  return {
    stalls: 0,
    data: { task: 'tasks.add', args: [2, 3] },
    options: { v: 1, id: 'job-1', queue: 'q_math', timestamp: 1_700_000_000_000, attempt: 1, stacktraces: [] },
    status: 'created',
  };
}

function invalid(raw: string): TaskqError {
  const err = thrown(() => decodeJobRecord(raw, 'job-9', 'q_pcap'));
  expect(err).toBeInstanceOf(TaskqError);
  const e = err as TaskqError;
  expect(e.code).toBe('TASKQ_MESSAGE_INVALID');
  expect(e.exitCode).toBe(65);
  expect(e.message).toMatch(/^job job-9 in queue q_pcap has an undecodable payload: /);
  return e;
}

/** A valid record's JSON with one field replaced (undefined removes it). */
function withField(path: string[], value: unknown): string {
  const rec = JSON.parse(encodeJobRecord(record())) as Record<string, unknown>;
  let target = rec;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = path.at(-1) as string;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return JSON.stringify(rec);
}

describe('encodeJobRecord', () => {
  it('writes stalls first, then options, data (the caller\'s arguments), status', () => {
    const rec = { ...record(), stalls: 2 };
    expect(encodeJobRecord(rec)).toBe(
      '{"stalls":2,"options":{"v":1,"id":"job-1","queue":"q_math","timestamp":1700000000000,"attempt":1,"stacktraces":[]},' +
        '"data":{"task":"tasks.add","args":[2,3]},' +
        '"status":"created"}',
    );
  });

  it('starts with {"stalls":N, whatever order the object was built in (the stall script relies on it)', () => {
    const { stalls, data, options, status } = record();
    const shuffled = { status, options, data, stalls: stalls + 12 } as JobRecord;
    const text = encodeJobRecord(shuffled);
    expect(text.startsWith('{"stalls":12,')).toBe(true);
    expect(/^\{"stalls":(\d+),/.exec(text)?.[1]).toBe('12');
  });

  it('drops fields outside the record shape', () => {
    const extra = { ...record(), extra: 'x' } as JobRecord;
    expect(encodeJobRecord(extra)).not.toContain('extra');
  });

  it('round-trips through decodeJobRecord', () => {
    const rec: JobRecord = {
      ...record(),
      stalls: 1,
      options: {
        ...record().options,
        attempt: 3,
        retries: 4,
        backoff: { type: 'exponential', delayMs: 100 },
        eta: 1_700_000_001_000,
        expires: 1_700_000_100_000,
        ignoreResult: true,
        lastError: { name: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at x' },
      },
      status: 'retrying',
    };
    expect(decodeJobRecord(encodeJobRecord(rec), 'job-1', 'q_math')).toEqual(rec);
  });
});

describe('decodeJobRecord', () => {
  it('decodes a valid record', () => {
    expect(decodeJobRecord(encodeJobRecord(record()), 'job-1', 'q_math')).toEqual(record());
  });

  it('decodes the compact record (no id, queue, stacktraces or status) and the older full one alike', () => {
    const compact = '{"stalls":0,"options":{"v":1,"timestamp":1700000000000,"attempt":1},"data":{"task":"tasks.add","args":[2,3]}}';
    expect(decodeJobRecord(compact, 'job-1', 'q_math')).toEqual({ stalls: 0, options: { v: 1, timestamp: 1_700_000_000_000, attempt: 1 }, data: { task: 'tasks.add', args: [2, 3] } });
    expect(decodeJobRecord(encodeJobRecord(record()), 'job-1', 'q_math')).toEqual(record());
  });

  it('keeps arguments exactly (empty arrays and objects, nested values)', () => {
    const raw = withField(['data', 'args'], [[], {}, { a: [1, { b: null }] }, 'x']);
    expect(decodeJobRecord(raw, 'job-1', 'q_math').data.args).toEqual([[], {}, { a: [1, { b: null }] }, 'x']);
  });

  it('rejects text that is not JSON, keeping the parse error as cause', () => {
    const e = invalid('{"stalls":0,');
    expect(e.message).toContain(': not JSON (');
    expect(e.cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    ['null', 'not an object'],
    ['42', 'not an object'],
    ['"text"', 'not an object'],
  ])('rejects %s: %s', (raw, why) => {
    expect(invalid(raw).message).toContain(`: ${why}. `);
  });

  it.each<[string, string[], unknown, string]>([
    ['no data', ['data'], undefined, 'no "data" object'],
    ['data not an object', ['data'], 'x', 'no "data" object'],
    ['no task', ['data', 'task'], undefined, 'no task name'],
    ['an empty task', ['data', 'task'], '', 'no task name'],
    ['a task that is not a string', ['data', 'task'], 7, 'no task name'],
    ['args not an array', ['data', 'args'], { 0: 1 }, '"data.args" is not an array'],
    ['no args', ['data', 'args'], undefined, '"data.args" is not an array'],
    ['no options', ['options'], undefined, 'no "options" object'],
    ['options not an object', ['options'], 3, 'no "options" object'],
    ['another format version', ['options', 'v'], 2, 'unknown format version 2'],
    ['a string format version', ['options', 'v'], '1', 'unknown format version "1"'],
    ['no format version', ['options', 'v'], undefined, 'unknown format version undefined'],
    ['attempt 0', ['options', 'attempt'], 0, '"options.attempt" is not a positive integer'],
    ['attempt 1.5', ['options', 'attempt'], 1.5, '"options.attempt" is not a positive integer'],
    ['attempt as text', ['options', 'attempt'], '1', '"options.attempt" is not a positive integer'],
    ['no stalls', ['stalls'], undefined, '"stalls" is not an integer'],
    ['stalls as text', ['stalls'], '0', '"stalls" is not an integer'],
  ])('rejects a record with %s, naming the defect', (_what, path, value, why) => {
    expect(invalid(withField(path, value)).message).toContain(`: ${why}. `);
  });
});

describe('peekTaskName', () => {
  it('finds the task name of a record that does not decode', () => {
    expect(peekTaskName('{"stalls":0,"data":{"task":"video.fetch","args":7}}')).toBe('video.fetch');
    expect(peekTaskName('{"data": {"task" : "a.b"')).toBe('a.b');
  });

  it('answers <undecodable> when there is none', () => {
    expect(peekTaskName('garbage')).toBe('<undecodable>');
    expect(peekTaskName('{"data":{"task":""}}')).toBe('<undecodable>');
    expect(peekTaskName(`{"task":"${'x'.repeat(201)}"}`)).toBe('<undecodable>');
  });
});

describe('errorInfo', () => {
  it('keeps name, message and stack', () => {
    const err = new TypeError('bad');
    expect(errorInfo(err)).toEqual({ name: 'TypeError', message: 'bad', stack: err.stack });
  });

  it('names an unnamed error Error and omits a missing stack', () => {
    const err = new Error('m');
    err.name = '';
    err.stack = undefined;
    expect(errorInfo(err)).toEqual({ name: 'Error', message: 'm' });
  });
});

describe('errorInfo', () => {
  it("names an error by its class when the class kept Error's name (as Celery shows it)", () => {
    class Flaky extends Error {}
    class Named extends Error {
      override name = 'CustomName';
    }
    expect(errorInfo(new Flaky('x')).name).toBe('Flaky');
    expect(errorInfo(new Named('x')).name).toBe('CustomName');
    expect(errorInfo(new Error('x')).name).toBe('Error');
    expect(errorInfo(new TypeError('x')).name).toBe('TypeError');
  });
});
