/** The CLI's exit codes and messages for bad options, a missing broker, a broken app module. */
import { describe, expect, it } from 'vitest';
import { runTaskq, fixture } from '../../helpers/processes.js';
import { freePort } from '../../helpers/redis-server.js';
import { inject } from 'vitest';

describe('taskq CLI errors', () => {
  it('a bad option value is a usage error (64) naming the option', async () => {
    const r = await runTaskq(['worker', '-A', fixture('basic.mjs'), '-c', 'many'], {});
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("option '-c, --concurrency <n>' argument 'many' is invalid");
    const q = await runTaskq(['worker', '-Q', 'ok,not ok'], {});
    expect(q.code).toBe(64);
    expect(q.stderr).toContain('"not ok" is not a valid queue name');
    const args = await runTaskq(['call', 'add', '{2,3}'], {});
    expect(args.code).toBe(64);
    expect(args.stderr).toContain('args must be a JSON array');
    const unknown = await runTaskq(['status', '--colour'], {});
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("unknown option '--colour'");
  });

  it('Redis down at start: exit 69 with the URL, for workers and commands', async () => {
    const url = `redis://127.0.0.1:${await freePort()}/0`;
    for (const args of [['worker', '-A', fixture('basic.mjs')], ['status'], ['call', 'add', '[1,2]']]) {
      const r = await runTaskq(args, { TASKQ_BROKER_URL: url });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(69);
      expect(r.stderr).toContain(`cannot connect to the broker at ${url}`);
      expect(r.stderr).not.toContain('TypeError'); // no noise from a shutdown of what never started
    }
  });

  it('a database number Redis does not have is a config error (78), not a silent db 0', async () => {
    const url = inject('redisUrl').replace(/\/0$/, '/99');
    const r = await runTaskq(['status'], { TASKQ_BROKER_URL: url });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('has no database 99');
  });

  it('a worker without -A is a usage error: it would fail every task it takes', async () => {
    const r = await runTaskq(['worker'], { TASKQ_BROKER_URL: inject('redisUrl') });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("required option '-A, --app <module>' not specified");
  });

  it('a broken broker URL is a config error (78); a missing app module too', async () => {
    const bad = await runTaskq(['status'], { TASKQ_BROKER_URL: 'http://x' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('unsupported scheme "http"');
    const missing = await runTaskq(['worker', '-A', 'nowhere/app.js'], { TASKQ_BROKER_URL: inject('redisUrl') });
    expect(missing.code).toBe(78);
    expect(missing.stderr).toMatch(/-A nowhere\/app.js: no such file/);
    const noApp = await runTaskq(['worker', '-A', fixture('../../helpers/wait-for.ts')], { TASKQ_BROKER_URL: inject('redisUrl') });
    expect(noApp.code).toBe(78);
  });

  it('purge without --force refuses (64) and deletes nothing', async () => {
    const r = await runTaskq(['purge', '-Q', 'default'], { TASKQ_BROKER_URL: inject('redisUrl') });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('add --force to confirm');
  });
});
