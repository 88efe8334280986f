import { describe, expect, it } from 'vitest';
import { Keys } from '../../../src/broker/keys.js';
import { resolveAppConfig, type AppConfig } from '../../../src/core/config.js';
import { encodeJobRecord, type JobRecord } from '../../../src/broker/message.js';
import type { Attempt, Outcome } from '../../../src/worker/job-runner.js';
import { finishEntry, finishHeader, finishKeys, startRequest, type FinishContext } from '../../../src/worker/outcome.js';

const now = 1_700_000_010_000;
const startedAt = 1_700_000_009_000;
const error = { name: 'TypeError', message: 'bad input', stack: 'TypeError: bad input\n    at task' };

function record(over: Partial<JobRecord['options']> = {}): JobRecord {
  return {
    stalls: 1,
    data: { task: 'tasks.add', args: [2, 3] },
    options: { v: 1, id: 'j1', queue: 'q_math', timestamp: 1_700_000_000_000, attempt: 2, stacktraces: [], ...over },
    status: 'created',
  };
}

function attempt(outcome: Outcome, rec: JobRecord | undefined): Attempt {
  return { id: 'j1', queue: 'q_math', record: rec, taskName: rec?.data.task ?? '<undecodable>', outcome, runtimeMs: 12.34567 };
}

function context(config: Partial<AppConfig> = {}, raw = 'RAW'): FinishContext {
  return {
    config: { ...resolveAppConfig({ resultExpiresMs: 60_000, eventsMaxLen: 1000 }, {}), ...config },
    keys: new Keys('tq'),
    node: 'w1@host',
    now,
    startedAt,
    raw,
  };
}

describe('finish script keys and header', () => {
  it('lists the keys of a queue in order', () => {
    expect(finishKeys(new Keys('tq'), 'q_math')).toEqual([
      'tq:q_math:active',
      'tq:q_math:jobs',
      'tq:events',
      'tq:q_math:waiting',
      'tq:q_math:delayed',
      'tq:q_math:earlierDelayed',
      'tq:q_math:dead',
      'tq:revoked',
    ]);
  });

  it('leads with the result TTL, the events MAXLEN, the result prefix, the number of starts, the time, the node and the events flag', () => {
    expect(finishHeader(context().config, new Keys('tq'), now, 0, 'w1@host')).toEqual([60_000, 1000, 'tq:result:', 0, now, '"w1@host"', '1']);
    expect(finishHeader(context({ events: false }).config, new Keys('tq'), now, 3, 'n')).toEqual([60_000, 1000, 'tq:result:', 3, now, '"n"', '0']);
  });

  it('builds a start from the raw record: what the script needs to write STARTED and check revocation and expiry', () => {
    const raw = encodeJobRecord(record({ expires: 1_700_000_020_000 }));
    expect(startRequest({ id: 'j1', raw, token: 'ab.1.2', startedAt }, true)).toEqual(['j1', 'ab.1.2', '"tasks.add"', '2', String(startedAt), '1700000020000', '1']);
    const quiet = startRequest({ id: 'j1', raw: encodeJobRecord(record({ ignoreResult: true })), token: 't', startedAt }, false);
    expect([quiet[4], quiet[5], quiet[6]]).toEqual(['', '', '0']); // no STARTED record, no expiry, a notice
  });
});

describe('finishEntry: success', () => {
  it('builds the result record by splicing in the serialised value', () => {
    const argv = finishEntry(attempt({ kind: 'success', resultJson: '{"sum":5,"list":[]}' }, record()), 'tok', context());
    expect(argv).toEqual([
      'j1',
      'tok',
      'success',
      '{"state":"SUCCESS","id":"j1","task":"tasks.add","node":"w1@host","attempt":2,' +
        `"startedAt":${startedAt},"doneAt":${now},"runtimeMs":12.346,"result":{"sum":5,"list":[]}}`,
      'task-succeeded',
      '{"id":"j1","task":"tasks.add","node":"w1@host","attempt":2,"runtimeMs":12.346,"result":"{\\"sum\\":5,\\"list\\":[]}"}',
      '',
      0,
      '',
    ]);
    expect(JSON.parse(argv[3] as string).result).toEqual({ sum: 5, list: [] });
  });

  it('keeps the value text exactly (no re-serialisation)', () => {
    const argv = finishEntry(attempt({ kind: 'success', resultJson: '12345678901234567890' }, record()), 'tok', context());
    expect((argv[3] as string).endsWith(',"result":12345678901234567890}')).toBe(true);
  });

  it('stores no result when the job ignores results', () => {
    const argv = finishEntry(attempt({ kind: 'success', resultJson: '5' }, record({ ignoreResult: true })), 'tok', context());
    expect(argv[3]).toBe('');
    expect(argv[4]).toBe('task-succeeded');
  });

  it('writes no event when events are off', () => {
    const argv = finishEntry(attempt({ kind: 'success', resultJson: '5' }, record()), 'tok', context({ events: false }));
    expect(argv[4]).toBe('');
    expect(argv[5]).toBe('');
    expect(argv[3]).not.toBe('');
  });
});

describe('finishEntry: retry', () => {
  const retry: Outcome = { kind: 'retry', error, delayMs: 4000 };

  it('stores a RETRY result, a task-retried event and the record for the next attempt', () => {
    const rec = record();
    const before = structuredClone(rec);
    const argv = finishEntry(attempt(retry, rec), 'tok', context());
    expect(argv[0]).toBe('j1');
    expect(argv[2]).toBe('retry');
    expect(JSON.parse(argv[3] as string)).toEqual({
      state: 'RETRY',
      id: 'j1',
      task: 'tasks.add',
      node: 'w1@host',
      attempt: 2,
      startedAt,
      error,
      retryAt: now + 4000,
      runtimeMs: 12.346,
    });
    expect(argv[4]).toBe('task-retried');
    expect(JSON.parse(argv[5] as string)).toEqual({
      id: 'j1',
      task: 'tasks.add',
      node: 'w1@host',
      attempt: 2,
      error: { name: 'TypeError', message: 'bad input' },
      retryAt: now + 4000,
    });
    expect(argv[6]).toBe(
      encodeJobRecord({ ...rec, status: 'retrying', options: { ...rec.options, attempt: 3, lastError: error } }),
    );
    expect((argv[6] as string).startsWith('{"stalls":1,')).toBe(true);
    expect(argv.slice(7)).toEqual([4000, '']);
    expect(rec).toEqual(before);
  });

  it('a retry without delay is due now', () => {
    const argv = finishEntry(attempt({ kind: 'retry', error, delayMs: 0 }, record()), 'tok', context());
    expect(argv[7]).toBe(0);
  });

  it('ignoreResult and events off give empty strings but still update the record', () => {
    const argv = finishEntry(attempt(retry, record({ ignoreResult: true })), 'tok', context({ events: false }));
    expect([argv[3], argv[4], argv[5]]).toEqual(['', '', '']);
    expect(JSON.parse(argv[6] as string).options.attempt).toBe(3);
  });
});

describe('finishEntry: failure', () => {
  const failure: Outcome = { kind: 'failure', error, reason: 'max retries (3) exceeded' };

  it('stores a FAILURE result, a task-failed event and the failed record', () => {
    const rec = record();
    const argv = finishEntry(attempt(failure, rec), 'tok', context());
    expect(argv[2]).toBe('failure');
    expect(JSON.parse(argv[3] as string)).toEqual({
      state: 'FAILURE',
      id: 'j1',
      task: 'tasks.add',
      node: 'w1@host',
      attempt: 2,
      startedAt,
      doneAt: now,
      runtimeMs: 12.346,
      error,
      reason: 'max retries (3) exceeded',
    });
    expect(argv[4]).toBe('task-failed');
    expect(JSON.parse(argv[5] as string)).toEqual({
      id: 'j1',
      task: 'tasks.add',
      node: 'w1@host',
      attempt: 2,
      queue: 'q_math',
      error,
      reason: 'max retries (3) exceeded',
      runtimeMs: 12.346,
    });
    expect(argv[6]).toBe(encodeJobRecord({ ...rec, status: 'failed', options: { ...rec.options, lastError: error } }));
    expect(argv[7]).toBe(0);
  });

  it('stores an undecodable record unchanged, as attempt 1', () => {
    const raw = '{"stalls":0,"data":{"task":"x"';
    const argv = finishEntry(attempt({ kind: 'failure', error, reason: 'undecodable payload' }, undefined), 'tok', context({}, raw),
    );
    expect(argv[6]).toBe(raw);
    expect(JSON.parse(argv[3] as string)).toMatchObject({ state: 'FAILURE', task: '<undecodable>', attempt: 1 });
    expect(JSON.parse(argv[5] as string)).toMatchObject({ task: '<undecodable>', attempt: 1, reason: 'undecodable payload' });
  });

  it('ignoreResult and events off give empty strings', () => {
    const argv = finishEntry(attempt(failure, record({ ignoreResult: true })), 'tok', context({ events: false }));
    expect([argv[3], argv[4], argv[5]]).toEqual(['', '', '']);
    expect(JSON.parse(argv[6] as string).status).toBe('failed');
  });
});

describe('finishEntry: what follows (canvas)', () => {
  const next = { task: 'tasks.mul', id: 'j2', queue: 'q_math', args: [10] };

  it("a success sends its chain's next step with the value first, and names it among its children", () => {
    const rec = record();
    rec.data.chain = [next, { task: 'tasks.add', id: 'j3', queue: 'q_other', args: [1] }];
    const argv = finishEntry(attempt({ kind: 'success', resultJson: '12345678901234567890' }, rec), 'tok', context());
    const plan = JSON.parse(argv[8] as string) as { j: string[][] };
    expect(plan.j).toHaveLength(1);
    const [base, priority, id, job, due] = plan.j[0] as string[];
    expect([base, priority, id, due]).toEqual(['tq:q_math:', 'normal', 'j2', '0']);
    // The value goes in as it was serialised (a big number stays exact), the rest of the chain rides along.
    expect(job).toContain('"args":[12345678901234567890,10],"chain":[{"task":"tasks.add","id":"j3"');
    expect(JSON.parse(argv[3] as string).children).toEqual(['j2']);
  });

  it("a failure for good sends errbacks and fails its chord; a retry sends nothing (unless revoked meanwhile)", () => {
    const rec = record();
    rec.data.linkError = [next];
    rec.data.chord = { id: 'c1', i: 4 };
    const error = { name: 'TypeError', message: 'bad' };
    const failed = finishEntry(attempt({ kind: 'failure', error, reason: 'no retries configured' }, rec), 'tok', context());
    const plan = JSON.parse(failed[8] as string) as { j: string[][]; f: string[] };
    expect(plan.j[0]?.[3]).toContain('"args":[{"id":"j1","task":"tasks.add","error":{"name":"TypeError","message":"bad"}},10]');
    expect(plan.f[0]).toBe('tq:chord:c1');
    expect(JSON.parse(plan.f[1] as string)).toEqual({ name: 'ChordError', message: 'chord member j1 (tasks.add, index 4) failed: TypeError: bad' });
    // A retry carries only its chord's failure, for finish.lua to apply if it turns the retry into a revocation.
    const retried = finishEntry(attempt({ kind: 'retry', error, delayMs: 10 }, rec), 'tok', context());
    const retryPlan = JSON.parse(retried[8] as string) as { j: unknown[]; f: string[] };
    expect(retryPlan.j).toEqual([]);
    expect(retryPlan.f[0]).toBe('tq:chord:c1');
    delete rec.data.chord;
    expect(finishEntry(attempt({ kind: 'retry', error, delayMs: 10 }, rec), 'tok', context())[8]).toBe('');
  });
});
