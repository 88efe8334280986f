/** A worker's log reads like Celery's on a terminal (TASKQ_LOG_FORMAT=human): one line per step of a task. */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('worker logs', () => {
  it('say received, succeeded (with the run time and result) and failed, one line each, in Celery’s shape', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TASKQ_LOG_FORMAT: 'human' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '1', '-n', 'logs@%h'], { env });
    const ok = await app.send('add', [2, 3]);
    await ok.get({ timeout: 10_000 });
    const bad = await app.send('fail', ['on purpose']);
    await bad.get({ timeout: 10_000 }).catch(() => undefined);
    const out = await waitFor('the failure line', () => worker.output(), (o) => o.includes(`Task fail[${bad.id}] raised unexpected`));
    const stamp = String.raw`\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: `;
    expect(out).toMatch(new RegExp(`${stamp}INFO/MainProcess\\] Task add\\[${ok.id}\\] received\\n`));
    expect(out).toMatch(new RegExp(`${stamp}INFO/MainProcess\\] Task add\\[${ok.id}\\] succeeded in \\d+\\.\\d{4}s: 5\\n`));
    expect(out).toMatch(new RegExp(`${stamp}ERROR/MainProcess\\] Task fail\\[${bad.id}\\] raised unexpected: UnrecoverableError: on purpose \\(unrecoverable error\\)`));
    expect(out).not.toContain('{"level"'); // no JSON lines on a terminal
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('say retried (with its delay and reason) and revoked, one line each', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TASKQ_LOG_FORMAT: 'human' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '2', '-n', 'logs@%h'], { env });
    const retried = await app.send('retryExc', [0.5]);
    await retried.get({ timeout: 10_000 }).catch(() => undefined);
    const stopped = await app.send('waitAbort', []);
    await waitFor('it to start', () => stopped.state(), (s) => s === 'STARTED');
    await stopped.revoke({ terminate: true });
    await stopped.get({ timeout: 10_000 }).catch(() => undefined);
    const out = await waitFor('the revoked line', () => worker.output(), (o) => o.includes(`Task waitAbort[${stopped.id}] revoked`));
    const stamp = String.raw`\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: `;
    expect(out).toMatch(new RegExp(`${stamp}INFO/MainProcess\\] Task retryExc\\[${retried.id}\\] retry: Retry in 0\\.5s: Upstream: upstream down \\(attempt 1\\)\\n`));
    expect(out).toMatch(new RegExp(`${stamp}INFO/MainProcess\\] Task waitAbort\\[${stopped.id}\\] revoked \\(terminated\\)\\n`));
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
