/** The CLI end to end: a worker process, and commands run as separate processes against it. */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { fixture, runTaskq, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('taskq commands', () => {
  it('call --wait gets a result computed in another process; result, status, events, dead, purge', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TASKQ_SENT_EVENTS: '1' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '2', '-n', 'cli@%h', '-E'], { env });
    expect(worker.output()).toMatch(/taskq worker cli@\S+ \(pid \d+\) ready/);
    expect(worker.output()).toContain('tasks        add, count, slow, fail, pid');

    const ok = await runTaskq(['call', 'add', '[2, 3]', '--wait', '--timeout', '10'], env);
    expect(ok.code).toBe(0);
    const [id, state, task, , value] = ok.stdout.trim().split(/\s+/);
    expect([state, task, value]).toEqual(['SUCCESS', 'add', '5']);

    const greeted = await runTaskq(['call', 'greet', '["ada"]', '-k', '{"greeting": "hi"}', '--wait', '--json'], env);
    expect(JSON.parse(greeted.stdout)).toMatchObject({ state: 'SUCCESS', result: { text: 'hi, ada', ctxKwargs: { greeting: 'hi' } } });
    const badKwargs = await runTaskq(['call', 'greet', '["ada"]', '-k', '[1]'], env);
    expect(badKwargs.code).toBe(64);
    expect(badKwargs.stderr).toContain(`kwargs must be a JSON object, e.g. '{"y": 2}', got an array`);

    const res = await runTaskq(['result', id as string, '--json'], env);
    expect(JSON.parse(res.stdout)).toMatchObject({ id, state: 'SUCCESS', task: 'add', result: 5 });

    const failed = await runTaskq(['call', 'fail', '["on purpose"]', '--wait', '--json'], env);
    expect(failed.code).toBe(1);
    const failedRec = JSON.parse(failed.stdout) as { id: string; state: string; error: { message: string } };
    expect(failedRec).toMatchObject({ state: 'FAILURE', error: { name: 'UnrecoverableError', message: 'on purpose' } });

    const status = JSON.parse((await runTaskq(['status', '--json'], env)).stdout) as {
      queues: Array<{ queue: string; dead: number }>;
      nodes: Array<{ node: string; pid: number }>;
    };
    expect(status.queues).toEqual([{ queue: 'default', waiting: 0, active: 0, delayed: 0, dead: 1 }]);
    expect(status.nodes).toMatchObject([{ pid: worker.pid }]);
    expect(status.nodes[0]?.node).toMatch(/^cli@/);
    const human = await runTaskq(['status'], env);
    expect(human.stdout).toMatch(/^QUEUE\s+WAITING\s+ACTIVE\s+DELAYED\s+DEAD\ndefault\s+0\s+0\s+0\s+1\n/);

    const events = (await runTaskq(['events', '--json'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: { id?: string } });
    expect(events.filter((e) => e.data.id === id).map((e) => e.type)).toEqual(['task-sent', 'task-received', 'task-started', 'task-succeeded']);
    expect(events.some((e) => e.type === 'worker-heartbeat')).toBe(false); // hidden unless asked
    const addOnly = (await runTaskq(['events', '--type', 'task-*', '--task', 'add', '--json'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: { task?: string } });
    expect(new Set(addOnly.map((e) => e.data.task))).toEqual(new Set(['add']));
    expect(addOnly.map((e) => e.type)).toEqual(['task-sent', 'task-received', 'task-started', 'task-succeeded']);
    const beats = (await runTaskq(['events', '--type', 'worker-heartbeat', '--node', 'cli', '--json'], env)).stdout.trim().split('\n');
    expect(beats.length).toBeGreaterThan(0);
    const limited = await runTaskq(['events', '-n', '2', '--json'], env);
    const lastTwo = limited.stdout.trim().split('\n').map((l) => JSON.parse(l) as { streamId: string });
    // The latest two, oldest first: at or after the last one the full read saw (heartbeats keep coming).
    const ms = (id: string): number => Number(id.split('-')[0]);
    const lastSeen = (events.at(-1) as unknown as { streamId: string }).streamId;
    expect(lastTwo).toHaveLength(2);
    expect(ms(lastTwo[0]!.streamId)).toBeLessThanOrEqual(ms(lastTwo[1]!.streamId));
    expect(ms(lastTwo[1]!.streamId)).toBeGreaterThanOrEqual(ms(lastSeen));

    const dead = await runTaskq(['dead', 'ls', '--json'], env);
    expect(JSON.parse(dead.stdout)).toMatchObject([{ id: failedRec.id, task: 'fail', error: 'UnrecoverableError: on purpose' }]);
    const retried = await runTaskq(['dead', 'retry', failedRec.id, '--json'], env);
    expect(JSON.parse(retried.stdout)).toEqual({ retried: [failedRec.id], missing: [] });
    const again = await runTaskq(['result', failedRec.id, '--wait', '--timeout', '10'], env);
    expect(again.code).toBe(1); // fails again, on purpose
    const purged = await runTaskq(['dead', 'purge', '--force', '--json'], env);
    expect(JSON.parse(purged.stdout)).toEqual({ purged: 1 });

    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
    // Nodes are gone once stopped.
    const after = JSON.parse((await runTaskq(['status', '--json'], env)).stdout) as { nodes: unknown[] };
    expect(after.nodes).toEqual([]);

    await runTaskq(['call', 'add', '[1, 1]', '--countdown', '60'], env);
    await runTaskq(['call', 'add', '[1, 2]'], env);
    const purge = await runTaskq(['purge', '-Q', 'default', '--force'], env);
    expect(purge.stdout).toBe('purged 2 job(s) from default\n');

    const typo = await runTaskq(['call', '-A', fixture('basic.mjs'), 'ad', '[1, 2]'], env);
    expect(typo.code).toBe(0);
    expect(typo.stderr).toContain('registers no task "ad"');
  });

  it('taskq events says when no node writes task events, and the banner says whether this one does', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    await startWorker(app, { name: 'quiet@test' });
    const quiet = await runTaskq(['events', '-n', '3'], env);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toContain('note: no node writes task events now (quiet@test): only worker events show. Run the workers with -E');
    const other = testApp();
    const loud = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-n', 'loud@%h', '-E'], { env: { ...env, TASKQ_KEY_PREFIX: other.keys.prefix } });
    expect(loud.output()).toContain('task events  ON');
    const told = await runTaskq(['events', '-n', '3'], { ...env, TASKQ_KEY_PREFIX: other.keys.prefix });
    expect(told.stderr).not.toContain('no node writes task events');
    loud.signal('SIGTERM');
    expect(await loud.exited).toBe(0);
  });

  it("two nodes with one name: the second warns, naming the first's pid (Celery's DuplicateNodenameWarning); a restarted one does not", async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TASKQ_HEARTBEAT_MS: '200' };
    const first = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-n', 'dup@x'], { env });
    await waitFor('its heartbeat', async () => (await app.client()).get(app.keys.node('dup@x')), (v) => v !== null);
    const second = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-n', 'dup@x'], { env });
    expect(second.output()).toContain(`another node is running as dup@x (pid ${first.pid} on `);
    for (const w of [first, second]) w.signal('SIGTERM');
    expect(await Promise.all([first.exited, second.exited])).toEqual([0, 0]);
    // The name is free again (its heartbeat record may outlive it by a few beats): no warning.
    const again = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-n', 'dup@x'], { env });
    expect(again.output()).not.toContain('another node is running');
    again.signal('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('status lists the queues live nodes consume, even empty ones the registry dropped between heartbeats', async () => {
    const app = testApp({ heartbeatMs: 60_000 });
    app.task('t', () => 1, { queue: 'quiet' });
    await startWorker(app, { queues: ['quiet'], name: 'quiet@test' });
    const client = await app.client();
    await client.srem(app.keys.queues, 'quiet'); // as the stall check's housekeeping does to an empty queue
    const r = await runTaskq(['status', '--json'], { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix });
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as { queues: Array<{ queue: string }> };
    expect(status.queues.map((q) => q.queue)).toContain('quiet');
  });

  it('--help works for every command', async () => {
    for (const args of [['--help'], ['worker', '--help'], ['call', '--help'], ['dead', 'retry', '--help'], ['events', '--help']]) {
      const r = await runTaskq(args, {});
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: taskq');
    }
  });

  it("taskq --help names the shared options, and they work before the command too, in Celery's order", async () => {
    const help = await runTaskq(['--help'], {});
    for (const option of ['-A, --app <module>', '-b, --broker <url>', '--prefix <prefix>']) expect(help.stdout).toContain(option);
    const app = testApp();
    await app.send('add', [1, 2]);
    const r = await runTaskq(['-b', inject('redisUrl'), '--prefix', app.keys.prefix, 'status', '--json'], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('"default"');
    // `celery -A proj inspect …`: -A gives every command the app's broker and prefix.
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    const lines: Array<[string[], number]> = [
      [['inspect', 'ping', '-t', '0.2'], 69], // no node runs: asked on the app's broker, none replied
      [['dead', 'ls'], 0],
      [['purge', '-Q', 'default', '--force'], 0],
      [['events', '--from', '0', '--count', '1'], 0],
      [['multi', 'show', 'w1'], 0],
    ];
    for (const [line, code] of lines) {
      const run = await runTaskq(['-A', fixture('basic.mjs'), ...line], env);
      expect(run.code, `${line.join(' ')}: ${run.stderr}`).toBe(code);
      expect(run.stderr).not.toContain("unknown option '-A'");
    }
  });

  it('worker pidfile: written while running, refused to a second node, removed at exit', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    const { mkdtempSync, readFileSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const pidfile = `${mkdtempSync(`${tmpdir()}/taskq-pid-`)}/sub/w.pid`;
    const first = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '--pidfile', pidfile], { env });
    expect(readFileSync(pidfile, 'utf8')).toBe(`${first.pid}\n`);
    const second = await runTaskq(['worker', '-A', fixture('basic.mjs'), '--pidfile', pidfile], env);
    expect(second.code).toBe(73);
    expect(second.stderr).toContain(`held by running process ${first.pid}`);
    first.signal('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(pidfile)).toBe(false);
  });

  it('--logfile gets JSON lines with the node name; an unwritable log file is exit 73', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const logfile = `${mkdtempSync(`${tmpdir()}/taskq-log-`)}/logs/w.log`;
    const w = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-n', 'logger@%h', '--logfile', logfile], { env });
    w.signal('SIGTERM');
    expect(await w.exited).toBe(0);
    const lines = readFileSync(logfile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; node: string; pid: number });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['worker ready', 'worker stopped']));
    expect(lines[0]).toMatchObject({ pid: w.pid });
    expect(lines[0]?.node).toMatch(/^logger@/);
    const { writeFileSync } = await import('node:fs');
    const notADir = `${logfile}.file`;
    writeFileSync(notADir, '');
    const bad = await runTaskq(['worker', '-A', fixture('basic.mjs'), '--logfile', `${notADir}/w.log`], env);
    expect(bad.code).toBe(73);
    expect(bad.stderr).toContain(`cannot open the log file ${notADir}/w.log`);
  });

  it('-P processes with --logfile %I: one log file per pool child, jobs run in the children', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    const { mkdtempSync, readFileSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/taskq-pool-log-`);
    const w = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-P', 'processes', '-c', '2', '--logfile', `${dir}/w%I.log`, '--time-limit', '5'], { env });
    const who = await runTaskq(['call', 'whoami', '--wait', '--json', '--timeout', '10'], env);
    const pid = Number((JSON.parse(who.stdout) as { result: string }).result.split(':')[0]);
    expect(pid).not.toBe(w.pid); // ran in a child process
    w.signal('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(readFileSync(`${dir}/w.log`, 'utf8')).toContain('"msg":"worker ready"');
    for (const i of [1, 2]) {
      expect(existsSync(`${dir}/w-${i}.log`)).toBe(true);
      expect(readFileSync(`${dir}/w-${i}.log`, 'utf8')).toContain(`"index":${i}`);
    }
  });
});
