/** The CLI's exit codes and messages for bad options, a missing broker, a broken app module. */
import { describe, expect, it } from 'vitest';
import { runTaskq, fixture } from '../../helpers/processes.js';
import { freePort, privateRedis } from '../../helpers/redis-server.js';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';

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
    for (const detach of [[], ['--detach']]) {
      const dir = await runTaskq(['worker', '-A', fixture('basic.mjs'), '--workdir', '/nonexistent-taskq', ...detach], {});
      expect(dir.code).toBe(64);
      expect(dir.stderr).toContain('no such directory: /nonexistent-taskq');
    }
    const typo = await runTaskq(['events', '--type', 'task-succeded'], {});
    expect(typo.code).toBe(64);
    expect(typo.stderr).toContain('no event type "task-succeded" (did you mean task-succeeded?)');
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

  it('rediss:// to a Redis without TLS: the error says TLS is the likely cause', async () => {
    const r = await runTaskq(['status'], { TASKQ_BROKER_URL: inject('redisUrl').replace(/^redis:/, 'rediss:') });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('rediss:// speaks TLS: if this Redis does not, use redis://');
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
    // A syntax error names its file, line and code (Node's ESM loader gives only the message).
    const where = mkdtempSync(`${tmpdir()}/taskq-syntax-`);
    writeFileSync(`${where}/typo.mjs`, "import { createApp } from 'taskq';\nexport const app = createApp(;\n");
    const typo = await runTaskq(['worker', '-A', `${where}/typo.mjs`], { TASKQ_BROKER_URL: inject('redisUrl') });
    expect(typo.code).toBe(78);
    expect(typo.stderr).toContain(`failed: Unexpected token ';' at ${where}/typo.mjs:2 (export const app = createApp(;)`);
  });

  it('options out of bounds are usage errors (64): -c, -n, --countdown, a task name sent by name', async () => {
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: 'bounds' };
    const many = await runTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '99999999999'], env);
    expect(many.code).toBe(64);
    expect(many.stderr).toContain('expected at most 10000 slots');
    const unnamed = await runTaskq(['worker', '-A', fixture('basic.mjs'), '-n', ''], env);
    expect(unnamed.code).toBe(64);
    expect(unnamed.stderr).toMatch(/node name "@[^"]+" must be name@host.*\[TASKQ_OPTION_INVALID\]/);
    const far = await runTaskq(['call', 'add', '[1, 2]', '--countdown', '1e300'], env);
    expect(far.code).toBe(64);
    expect(far.stderr).toContain('countdown must be a number of seconds from 0 to 315360000 (10 years), got 1e+300');
    const badName = await runTaskq(['call', 'no such task', '[]'], env);
    expect(badName.code).toBe(64);
    expect(badName.stderr).toContain('[TASKQ_TASK_NAME_INVALID]');
  });

  it("an app module's own config error keeps its code: a bad broker URL, a bad TASKQ_* variable", async () => {
    const url = await runTaskq(['worker', '-A', fixture('basic.mjs'), '-b', 'notaurl'], {});
    expect(url.code).toBe(78);
    expect(url.stderr).toContain('[TASKQ_BROKER_URL_INVALID]');
    expect(url.stderr).toContain('while loading the app -A');
    const variable = await runTaskq(['worker', '-A', fixture('basic.mjs')], { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_STALL_INTERVAL_MS: 'abc' });
    expect(variable.code).toBe(78);
    expect(variable.stderr).toContain('TASKQ_STALL_INTERVAL_MS="abc" is not a number of ms');
    expect(variable.stderr).toContain('[TASKQ_CONFIG_INVALID]');
  });

  it('taskq up without nodes to run says how to give them (78), before it starts anything', async () => {
    const none = await runTaskq(['up', '--config', 'nowhere.json'], { TASKQ_BROKER_URL: inject('redisUrl') });
    expect(none.code).toBe(78);
    expect(none.stderr).toMatch(/taskq up has no nodes to run: \S*nowhere.json cannot be read .*Pass -A <module> --node name=queue1,queue2:concurrency/);
    const noApp = await runTaskq(['up', '--node', 'a=q:1'], { TASKQ_BROKER_URL: inject('redisUrl') });
    expect(noApp.code).toBe(78);
    expect(noApp.stderr).toContain('--node needs -A <module>');
  });

  it('exit codes of results: a wait that times out is 75, a revoked result 1, an unknown dead id 65', async () => {
    const prefix = `t${Date.now().toString(36)}x`;
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix };
    const waited = await runTaskq(['call', 'add', '[1, 2]', '-Q', 'nobody-consumes', '--wait', '--timeout', '0.3'], env);
    expect(waited.code, waited.stderr).toBe(75);
    // It said at once that nothing would end the wait.
    expect(waited.stderr).toContain('taskq: note: no live worker node consumes queue "nobody-consumes" now; waiting anyway (start one with -Q nobody-consumes)');
    const id = waited.stderr.match(/no result for task (\S+) within 300 ms/)?.[1];
    expect(id).toBeTruthy();
    expect((await runTaskq(['revoke', id as string], env)).code).toBe(0);
    const revoked = await runTaskq(['result', id as string], env);
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toContain('REVOKED');
    const unknown = await runTaskq(['dead', 'retry', '-Q', 'default', 'no-such-id'], env);
    expect(unknown.code, unknown.stderr).toBe(65);
  });

  it('purge without --force refuses (64) and deletes nothing', async () => {
    const r = await runTaskq(['purge', '-Q', 'default'], { TASKQ_BROKER_URL: inject('redisUrl') });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('add --force to confirm');
    // A queue nobody knows is most likely a typo: said, and nothing else changes.
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: `t${Date.now().toString(36)}p` };
    expect((await runTaskq(['call', 'add', '[1, 2]', '-Q', 'known'], env)).code).toBe(0);
    const typo = await runTaskq(['purge', '-Q', 'knwon', '--force'], env);
    expect(typo.code).toBe(0);
    expect(typo.stderr).toContain('taskq: note: no queue "knwon" is known (none sent to it, no live node consumes it): a typo? Known: known');
    expect((await runTaskq(['purge', '-Q', 'known', '--force'], env)).stderr).toBe('');
  });

  it('a port already in use is a clear error (69) naming the address and how to pick another, without a stack', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as AddressInfo).port;
    try {
      const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_CACHE_DIR: mkdtempSync(`${tmpdir()}/taskq-port-`) };
      for (const [args, hint] of [[['cache', 'serve', '--port', String(port)], 'TASKQ_CACHE_PORT'], [['ui', '--port', String(port)], 'TASKQ_UI_PORT']] as const) {
        const r = await runTaskq([...args], env);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(69);
        expect(r.stderr).toContain(`127.0.0.1:${port} is in use`);
        expect(r.stderr).toContain(hint);
        expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      }
    } finally {
      busy.close();
    }
  });

  it('a broker that wants a password, given none or a wrong one: an auth error (78) saying where to put it, not "start redis-server"', async () => {
    const redis = await privateRedis();
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'requirepass', 's3cret');
      const withPass = (pass: string) => redis.url.replace('redis://', `redis://:${pass}@`);
      for (const url of [redis.url, withPass('wrong')]) {
        const r = await runTaskq(['status'], { TASKQ_BROKER_URL: url });
        expect(r.code, r.stderr).toBe(78);
        expect(r.stderr).toContain('TASKQ_BROKER_AUTH');
        expect(r.stderr).toContain('redis://user:pass@host:port');
        expect(r.stderr).not.toContain('Start redis-server');
        expect(r.stderr).not.toContain('s3cret');
      }
      expect((await runTaskq(['status'], { TASKQ_BROKER_URL: withPass('s3cret') })).code).toBe(0);
    } finally {
      admin.disconnect();
    }
  });
});
