/** What a Celery operator types by reflex, run for real: it works, or says what to use instead. */
import { describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../helpers/apps.js';
import { fixture, runTaskq, spawnTaskq } from '../helpers/processes.js';

describe("Celery's spellings", () => {
  it('-A before the subcommand, -A module:name, -P prefork, -O fair, --prefetch-multiplier', async () => {
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: uniquePrefix() };
    await spawnTaskq(['-A', `${fixture('basic.mjs')}:app`, 'worker', '-P', 'prefork', '-c', '1', '-O', 'fair', '-n', 'fair@box'], { env });
    await spawnTaskq(['-A', fixture('basic.mjs'), 'worker', '-P', 'solo', '--prefetch-multiplier', '3', '-n', 'solo@box'], { env });
    const stats = JSON.parse((await runTaskq(['inspect', 'stats', '--json'], env)).stdout) as Record<string, { pool: unknown }>;
    expect(stats['fair@box']?.pool).toMatchObject({ kind: 'processes', concurrency: 1, prefetch: 0 });
    expect(stats['solo@box']?.pool).toMatchObject({ kind: 'async', concurrency: 1, prefetch: 2 });
    const call = await runTaskq(['-A', fixture('basic.mjs'), 'call', 'add', '[1, 2]', '--wait', '--json'], env);
    expect(JSON.parse(call.stdout)).toMatchObject({ state: 'SUCCESS', result: 3 });
  });

  it("Celery's commands that taskq has no twin of say what to use instead (exit 64)", async () => {
    const env = { TASKQ_BROKER_URL: inject('redisUrl') };
    for (const [cmd, hint] of [['report', 'taskq inspect stats'], ['amqp', 'redis-cli'], ['shell', 'REPL']] as const) {
      const r = await runTaskq([cmd, '--port', '5555'], env);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(`taskq has no "${cmd}" command (Celery's). Instead:`);
      expect(r.stderr).toContain(hint);
    }
    const typo = await runTaskq(['worker', '-A', fixture('basic.mjs'), '-P', 'gevnt'], env);
    expect(typo.code).toBe(64);
    expect(typo.stderr).toContain('expected one of async, threads, processes, prefork, solo, gevent, eventlet');
  });
});
