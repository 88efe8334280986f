/**
 * `taskq multi` with real daemons, pidfiles and signals on the test Redis: start means consuming,
 * stopwait waits for running tasks, pidfiles are checked by identity, restart and start after a
 * crash reuse each node's recorded options, and bad lines fail before anything is started.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { readPidfile } from '../../src/multi/pidfile.js';
import { uniquePrefix } from '../helpers/apps.js';
import { alive, fixture, root, runTaskq } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';


/** A temp folder for pidfiles and logs, and an env on the test Redis; daemons left behind are killed. */
function setup(): { dir: string; env: NodeJS.ProcessEnv; prefix: string; pidsNow: () => number[] } {
  const dir = mkdtempSync(`${tmpdir()}/taskq-multi-`);
  const prefix = uniquePrefix();
  const pidsNow = (): number[] => readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => readPidfile(`${dir}/${f}`)).filter((p): p is number => p !== undefined);
  onTestFinished(() => {
    for (const pid of pidsNow()) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return { dir, prefix, env: { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix }, pidsNow };
}

const basic = fixture('basic.mjs');

/** Runs `taskq <args>` in folder `cwd`. */
async function runTaskqIn(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [`${root}bin/taskq`, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  return { code: code ?? (signal as string), stdout, stderr };
}

describe('taskq multi', () => {
  it('starts the flagship line as written: OK only once each node consumes; stopwait stops them all', async () => {
    const { dir, env } = setup();
    const line = ['capture', 'analyze', 'download', 'schedule', '-A', `${root}dist/app.js`, '-c:1', '1', '-c:2', '2', '-c:3', '4', '-c:4', '1', '-Q:1', 'q_pcap', '-Q:2', 'q_analyze', '-Q:3', 'q_download', '-Q:4', 'q_schedule', `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n%I.log`];
    const start = await runTaskq(['multi', 'start', ...line], env, 60_000);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(start.stdout.match(/: OK \(pid \d+, consuming/g)).toHaveLength(4);

    // Each node is up with its own queue and concurrency, as its heartbeat says.
    const status = await runTaskq(['status', '--json'], env);
    const nodes = (JSON.parse(status.stdout) as { nodes: Array<{ node: string; queues: string[]; concurrency?: number }> }).nodes;
    expect(Object.fromEntries(nodes.map((n) => [n.node.split('@')[0], n.queues]))).toEqual({ capture: ['q_pcap'], analyze: ['q_analyze'], download: ['q_download'], schedule: ['q_schedule'] });
    const ping = await runTaskq(['call', '-A', `${root}dist/app.js`, 'schedule.ping', '["multi"]', '--wait', '--timeout', '10', '--json'], env);
    expect(JSON.parse(ping.stdout)).toMatchObject({ state: 'SUCCESS', node: expect.stringMatching(/^schedule@/) });

    const pids = ['capture', 'analyze', 'download', 'schedule'].map((n) => readPidfile(`${dir}/${n}.pid`) as number);
    const stop = await runTaskq(['multi', 'stopwait', ...line], env, 60_000);
    expect(stop.code, stop.stdout).toBe(0);
    expect(stop.stdout.match(/: OK \(stopped after/g)).toHaveLength(4);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    for (const n of ['capture', 'analyze', 'download', 'schedule']) expect(existsSync(`${dir}/${n}.pid`)).toBe(false);
  });

  it('stopwait with a long task in flight returns after the task ends, and the task is SUCCESS', async () => {
    const { dir, env, prefix } = setup();
    const line = ['w1', '-A', basic, `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n%I.log`];
    expect((await runTaskq(['multi', 'start', ...line], env, 30_000)).code).toBe(0);
    const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
    onTestFinished(() => app.close());
    const job = await app.send('slow', [1500]);
    const client = await app.client();
    await waitFor('the task to start', () => client.lrange(`${prefix}:started`, 0, -1), (l) => l.includes(job.id));
    const stop = await runTaskq(['multi', 'stopwait', ...line], env, 30_000);
    const returnedAt = Date.now();
    expect(stop.code, stop.stdout).toBe(0);
    const result = await job.get({ timeout: 5000 });
    expect(result).toBe('done');
    const record = JSON.parse((await client.get(`${prefix}:result:${job.id}`)) as string) as { state: string; doneAt: number };
    expect(record.state).toBe('SUCCESS');
    expect(returnedAt).toBeGreaterThanOrEqual(record.doneAt);
  });

  it('refuses a second start (exit 73), replaces stale and reused pidfiles, and restarts only a node that died', async () => {
    const { dir, env } = setup();
    const line = ['w1', 'w2', 'w3', '-A', basic, '-c:1', '3', `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n%I.log`];
    // w2's pidfile names a dead pid; w3's a live process that is not taskq (pid reused).
    const gone = spawn('true');
    await once(gone, 'exit');
    writeFileSync(`${dir}/w2.pid`, `${gone.pid}\n`);
    const other = spawn('sleep', ['60']);
    onTestFinished(() => void other.kill('SIGKILL'));
    writeFileSync(`${dir}/w3.pid`, `${other.pid}\n`);
    const first = await runTaskq(['multi', 'start', ...line], env, 30_000);
    expect(first.code, first.stdout).toBe(0);
    expect(alive(other.pid as number)).toBe(true);
    const [w1, w2, w3] = ['w1', 'w2', 'w3'].map((n) => readPidfile(`${dir}/${n}.pid`) as number);
    expect(new Set([w1, w2, w3, gone.pid, other.pid]).size).toBe(5);

    const again = await runTaskq(['multi', 'start', ...line], env, 30_000);
    expect(again.code).toBe(73);
    expect(again.stdout).toContain(`w1@`);
    expect(again.stdout).toMatch(new RegExp(`w1@\\S+: already running \\(pid ${w1}\\)`));

    // kill -9 one node; start (no options repeated) starts only that one, as it was started.
    process.kill(w1 as number, 'SIGKILL');
    await waitFor('w1 to be gone', () => alive(w1 as number), (a) => !a);
    const restart = await runTaskq(['multi', 'start', 'w1', 'w2', 'w3', `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n%I.log`], env, 30_000);
    expect(restart.stdout).toMatch(/w1@\S+: OK/);
    expect(restart.stdout.match(/: already running/g)).toHaveLength(2);
    const newW1 = readPidfile(`${dir}/w1.pid`) as number;
    expect(newW1).not.toBe(w1);
    expect(readFileSync(`/proc/${newW1}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['-c', '3']));
    expect(readPidfile(`${dir}/w2.pid`)).toBe(w2);
  });

  it('a pidfile whose pid is now another taskq process started after it was written is stale', async () => {
    const { dir, env } = setup();
    expect((await runTaskq(['multi', 'start', 'a', '-A', basic, `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n.log`], env, 30_000)).code).toBe(0);
    const a = readPidfile(`${dir}/a.pid`) as number;
    // b's pidfile names a's pid but is older than a: a pid reused by another node.
    writeFileSync(`${dir}/b.pid`, `${a}\n`);
    const past = new Date(Date.now() - 3600_000);
    utimesSync(`${dir}/b.pid`, past, past);
    const b = await runTaskq(['multi', 'start', 'b', '-A', basic, `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n.log`], env, 30_000);
    expect(b.code, b.stdout).toBe(0);
    expect(readPidfile(`${dir}/b.pid`)).not.toBe(a);
  });

  it('restart needs no repeated options: each node comes back as it was started, with a new pid', async () => {
    const { dir, env } = setup();
    const where = [`--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n%I.log`];
    expect((await runTaskq(['multi', 'start', 'r1', 'r2', '-A', basic, '-c:r2', '5', '-Q', 'default', ...where], env, 30_000)).code).toBe(0);
    const before = readPidfile(`${dir}/r2.pid`) as number;
    const restart = await runTaskq(['multi', 'restart', 'r1', 'r2', ...where], env, 60_000);
    expect(restart.code, restart.stdout).toBe(0);
    expect(restart.stdout.match(/: OK \(pid/g)).toHaveLength(2);
    const after = readPidfile(`${dir}/r2.pid`) as number;
    expect(after).not.toBe(before);
    expect(alive(before)).toBe(false);
    expect(readFileSync(`/proc/${after}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['-c', '5', '-Q', 'default']));
    // The pidfile alone is enough: the node logs where it logged before, not to the default folder.
    const reload = await runTaskq(['multi', 'restart', 'r2', `--pidfile=${dir}/%n.pid`], env, 60_000);
    expect(reload.code, reload.stdout).toBe(0);
    const third = readPidfile(`${dir}/r2.pid`) as number;
    expect(readFileSync(`${dir}/r2.log`, 'utf8')).toContain(`(pid ${third}) ready`);
  });

  it('a node that dies while starting is FAILED with its reason; exit 1', async () => {
    const { dir, env } = setup();
    const r = await runTaskq(['multi', 'start', 'ok', 'bad', '-A', basic, '-A:bad', `${dir}/missing.mjs`, `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n.log`], env, 30_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ok@\S+: OK/);
    expect(r.stdout).toMatch(/bad@\S+: FAILED\n\t {2}exited \(code \d+\) before it consumed:\n.*missing\.mjs/);
    expect(r.stdout).toContain('1 failed of 2 nodes');
  });

  it('stop -QUIT mid-task: the job goes back at once and completes on the other node', async () => {
    const { dir, env, prefix } = setup();
    // Stall checks a minute apart: only the cold stop's give-back can bring the job back in time.
    const slowStalls = { ...env, TEST_STALL_MS: '60000' };
    const line = ['q1', 'q2', '-A', basic, '-c', '1', `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n%I.log`];
    expect((await runTaskq(['multi', 'start', ...line], slowStalls, 30_000)).code).toBe(0);
    const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix, stallIntervalMs: 60_000 });
    onTestFinished(() => app.close());
    const job = await app.send('chaos', [1500]);
    const first = await waitFor('the job to start', async () => (await app.control.inspect('active')).replies.find((r) => r.ok && r.result.length), (r) => r !== undefined);
    const victim = first!.node.split('@')[0] as string;
    const quit = await runTaskq(['multi', 'stop', victim, `--pidfile=${dir}/%n.pid`, '-QUIT'], env);
    expect(quit.stdout).toMatch(new RegExp(`${victim}@\\S+: QUIT -> \\d+`));
    const ranOn = await job.get({ timeout: 20_000 });
    expect(ranOn).not.toBe(first!.node);
    expect(String(ranOn)).toMatch(/^q[12]@/);
  });

  it('--uid / --gid (started as root): the node runs as that user, in folders made its own; not root: refused', async () => {
    const { dir, env } = setup();
    chmodSync(dir, 0o755); // the node's user must reach its folders
    const line = ['u1', '-A', basic, '--uid', 'nobody', '--gid', 'nogroup', `--pidfile=${dir}/run/%n.pid`, `--logfile=${dir}/log/%n%I.log`];
    const start = await runTaskq(['multi', 'start', ...line], env, 30_000);
    expect(start.code, start.stdout).toBe(0);
    const pid = readPidfile(`${dir}/run/u1.pid`) as number;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1)).toEqual(['65534', '65534']);
    expect(/^Gid:\s+(\d+)/m.exec(status)?.[1]).toBe('65534');
    expect(statSync(`${dir}/run`).uid).toBe(65534);
    expect(statSync(`${dir}/log/u1.log`).uid).toBe(65534);
    const stop = await runTaskq(['multi', 'stopwait', 'u1', `--pidfile=${dir}/run/%n.pid`], env, 30_000);
    expect(stop.stdout).toMatch(/u1@\S+: OK \(stopped/);
    expect(existsSync(`${dir}/run/u1.pid`)).toBe(false); // removed by the node itself, as nobody

    const notRoot = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, `${root}bin/taskq`, 'worker', '-A', basic, '--uid', 'nobody'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(notRoot.status).toBe(64);
    expect(notRoot.stderr).toContain('--uid / --gid need root: this runs as uid 65534');
  });

  it('worker --detach: returns once the node consumes, in its own session, pidfile resolved where it was run', async () => {
    const { dir, env } = setup();
    const r = await runTaskqIn(dir, ['worker', '--detach', '-A', basic, '-n', 'd1@%h', '--pidfile', 'd1.pid', '--logfile', 'logs/d1.log', '--workdir', '/'], env);
    expect(r.code, r.stderr).toBe(0);
    const pid = readPidfile(`${dir}/d1.pid`) as number;
    expect(r.stdout).toMatch(new RegExp(`^d1@\\S+: OK \\(pid ${pid}\\)`));
    // setsid: its own session; stdin is /dev/null; it works in --workdir.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    expect(Number(stat[3])).toBe(pid);
    const { readlinkSync } = await import('node:fs');
    expect(readlinkSync(`/proc/${pid}/fd/0`)).toBe('/dev/null');
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe('/');
    const again = await runTaskqIn(dir, ['worker', '--detach', '-A', basic, '--pidfile', 'd1.pid'], env);
    expect(again.code).toBe(73);
    expect(again.stderr).toContain(`already running (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    await waitFor('the daemon to exit', () => alive(pid), (a) => !a);
    expect(readFileSync(`${dir}/logs/d1.log`, 'utf8')).toContain('"msg":"worker stopped"');
  });

  it('bad lines fail before anything is started', async () => {
    const { dir, env, pidsNow } = setup();
    const blocker = `${mkdtempSync(`${tmpdir()}/taskq-multi-`)}/a-file`;
    writeFileSync(blocker, '');
    const badConf = `${blocker}.d/worker.conf`;
    mkdirSync(`${blocker}.d`);
    writeFileSync(badConf, 'TASKQ_LOG_LEVEL=info\nexport TASKQ_NODES="w1"\n');
    const where = [`--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n.log`];
    const cases: Array<[string[], number, RegExp]> = [
      [['multi', 'frobnicate', 'w1'], 64, /unknown multi command "frobnicate"/],
      [['multi', 'expand', '%n-%h'], 64, /taskq multi expand %n-%h needs the nodes after the template: name them \(taskq multi expand %n-%h w1 w2\)/],
      [['multi', 'names'], 64, /taskq multi names needs the nodes: name them \(taskq multi names w1 w2\) or give a count \(taskq multi names 3\)/],
      [['multi', 'start', 'w1', 'w2', '-A', basic, '-c:5', '2', ...where], 64, /-c:5: there is no node 5; indexes go from 1 to 2/],
      [['multi', 'start', 'w1', '-A', basic, '-c:1', 'abc', ...where], 64, /node w1@\S+: option '-c, --concurrency <n>' argument 'abc' is invalid/],
      [['multi', 'start', 'w1', ...where], 64, /node w1@\S+: required option '-A, --app <module>' not specified/],
      [['multi', 'start', 'w1', '-A', basic, '--pidfile=/proc/taskq-cannot/%n.pid', `--logfile=${dir}/%n.log`], 73, /cannot write the pidfile folder \/proc\/taskq-cannot: ENOENT/],
      [['multi', 'start', 'w1', '-A', basic, `--pidfile=${dir}/%n.pid`, `--logfile=${blocker}/logs/%n.log`], 73, /cannot write the log folder .*\/logs: ENOTDIR/],
      [['multi', 'start', 'w1', '-A', basic, ...where, `--env-file=${badConf}`], 78, /worker\.conf:2: systemd does not read `export`: write TASKQ_NODES="w1"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runTaskq(args, env);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(message);
    }
    expect(pidsNow()).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
