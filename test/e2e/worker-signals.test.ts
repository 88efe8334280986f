/**
 * A worker node's signals, sent for real to real processes: HUP restarts in place (same pid, new
 * image, changed code, nothing lost, no descriptor leaked), USR1 dumps what runs, USR2 reopens the log
 * file, and a pool child stuck in a task dies with its node.
 */
import { readlinkSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { readPidfile } from '../../src/multi/pidfile.js';
import { uniquePrefix } from '../helpers/apps.js';
import { alive, fixture, root, spawnTaskq } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';


/** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): exec keeps it. */
const startTicks = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
/** The JSON lines of a log file (none while it does not exist yet). */
function logLines(file: string): Array<{ msg: string; [k: string]: unknown }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
}

/** Runs a command with its output collected (killed when the test ends). */
async function spawnTaskqLike(argv: string[], env: NodeJS.ProcessEnv): Promise<{ output: () => string; exited: Promise<number | string> }> {
  const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  onTestFinished(() => void child.kill('SIGKILL'));
  return { output: () => out, exited };
}

/** Waits until the node has logged "worker ready" `times` times (once per start of its image). */
const readyCount = (file: string, times: number): Promise<number> =>
  waitFor(`"worker ready" ×${times} in ${file}`, () => logLines(file).filter((l) => l.msg === 'worker ready').length, (n) => n === times, { timeoutMs: 15_000 });

function setup(): { dir: string; env: NodeJS.ProcessEnv; prefix: string } {
  const dir = mkdtempSync(`${tmpdir()}/taskq-signals-`);
  const prefix = uniquePrefix();
  return { dir, prefix, env: { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix } };
}

function appOn(prefix: string): ReturnType<typeof createApp> {
  const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
  onTestFinished(() => app.close());
  return app;
}

describe('worker signals', () => {
  it('HUP restarts in place: same pid, new image with the changed task code, the task in flight finishes, nothing queued is lost', async () => {
    const { dir, env, prefix } = setup();
    // The app as a deploy would change it: a copy whose `version` task answers what the file says.
    const appFile = `${dir}/app.mjs`;
    // Outside the repository the package name does not resolve: import taskq by path.
    const source = readFileSync(fixture('basic.mjs'), 'utf8').replace("from 'taskq'", `from '${root}dist/index.js'`);
    writeFileSync(appFile, `${source}\napp.task('version', () => 'v1');\n`);
    const node = await spawnTaskq(['worker', '-A', appFile, '-n', 'hup@%h', '--pidfile', `${dir}/hup.pid`, '--logfile', `${dir}/hup.log`], { env, waitReady: false });
    await readyCount(`${dir}/hup.log`, 1);
    const app = appOn(prefix);
    expect(await (await app.send('version', [])).get({ timeout: 5000 })).toBe('v1');
    const fdsBefore = readdirSync(`/proc/${node.pid}/fd`).length;
    const ticks = startTicks(node.pid);

    const inFlight = await app.send('slow', [800]);
    const client = await app.client();
    await waitFor('the slow task to start', () => client.lrange(`${prefix}:started`, 0, -1), (l) => l.includes(inFlight.id));
    writeFileSync(appFile, `${source}\napp.task('version', () => 'v2');\n`);
    node.signal('SIGHUP');
    const queued = await app.send('add', [2, 3]);

    expect(await inFlight.get({ timeout: 10_000 })).toBe('done');
    expect(await queued.get({ timeout: 15_000 })).toBe(5);
    await readyCount(`${dir}/hup.log`, 2);
    expect(await (await app.send('version', [])).get({ timeout: 5000 })).toBe('v2');
    expect(alive(node.pid)).toBe(true);
    expect(readPidfile(`${dir}/hup.pid`)).toBe(node.pid);
    expect(startTicks(node.pid)).toBe(ticks); // the same process, not a new one with a reused pid
    const msgs = logLines(`${dir}/hup.log`).map((l) => l.msg);
    expect(msgs).toEqual(expect.arrayContaining(['warm restart in place: finishing running jobs, then re-executing (same pid)', 're-executing']));
    // Descriptors are not carried over into the new image (Celery's HUP leaked them).
    expect(readdirSync(`/proc/${node.pid}/fd`).length).toBeLessThanOrEqual(fdsBefore);

    node.signal('SIGTERM');
    expect(await node.exited).toBe(0);
  });

  it("HUP on a terminal restarts in place too (Celery's worker dies there)", async () => {
    const { dir, env } = setup();
    const cmd = `${process.execPath} ${root}bin/taskq worker -A ${fixture('basic.mjs')} -n tty@%h --pidfile ${dir}/tty.pid`;
    // script(1) gives the worker a pseudo-terminal as its stdin, stdout and stderr.
    const term = await spawnTaskqLike(['script', '-qfec', cmd, '/dev/null'], env);
    await waitFor('the worker to be ready', () => term.output(), (o) => (o.match(/ ready\r?\n/g) ?? []).length === 1, { timeoutMs: 15_000 });
    const pid = readPidfile(`${dir}/tty.pid`) as number;
    expect(readlinkSync(`/proc/${pid}/fd/2`)).toMatch(/^\/dev\/pts\//);
    process.kill(pid, 'SIGHUP');
    await waitFor('the worker to be ready again', () => term.output(), (o) => (o.match(/ ready\r?\n/g) ?? []).length === 2, { timeoutMs: 15_000 });
    expect(readPidfile(`${dir}/tty.pid`)).toBe(pid);
    expect(alive(pid)).toBe(true);
    process.kill(pid, 'SIGTERM');
    expect(await term.exited).toBe(0);
  });

  it('USR1 logs the running tasks and counters; USR2 reopens the log file after it was moved', async () => {
    const { dir, env, prefix } = setup();
    const log = `${dir}/w.log`;
    const node = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-n', 'sig@%h', '--logfile', log], { env, waitReady: false });
    await readyCount(log, 1);
    const app = appOn(prefix);
    const job = await app.send('slow', [1500]);
    const client = await app.client();
    await waitFor('the task to start', () => client.lrange(`${prefix}:started`, 0, -1), (l) => l.includes(job.id));

    node.signal('SIGUSR1');
    const dump = await waitFor('the state dump', () => logLines(log).find((l) => l.signal === 'SIGUSR1'), (d) => d !== undefined);
    expect(dump).toMatchObject({ node: expect.stringMatching(/^sig@/), active: [{ id: job.id, task: 'slow', queue: 'default', args: [1500] }], reserved: [], scheduled: [] });
    expect(dump!.msg).toBe('state dump: 1 running, 0 reserved, 0 waiting for a rate slot');

    renameSync(log, `${log}.1`);
    node.signal('SIGUSR2');
    await waitFor('a new log file', () => logLines(log).map((l) => l.msg), (m) => m.includes('log files reopened'));
    expect(await job.get({ timeout: 5000 })).toBe('done');
    node.signal('SIGTERM');
    expect(await node.exited).toBe(0);
    expect(logLines(log).map((l) => l.msg)).toContain('worker stopped');
    expect(logLines(`${log}.1`).map((l) => l.msg)).not.toContain('worker stopped');
  });

  it('a pool child stuck in a task dies with its node, even when the node is killed with SIGKILL', async () => {
    const { env, prefix } = setup();
    const node = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-P', 'processes', '-c', '1'], { env });
    const app = appOn(prefix);
    const job = await app.send('spin', []);
    await waitFor('the task to start', async () => (await app.result(job.id).state()), (s) => s === 'STARTED');
    const children = readFileSync(`/proc/${node.pid}/task/${node.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(children.length).toBeGreaterThan(0);
    node.signal('SIGKILL');
    await node.exited;
    // The child spins and never reads its IPC channel: only the kernel (PR_SET_PDEATHSIG) can end it.
    await waitFor('the pool children to die', () => children.filter(alive), (left) => left.length === 0, { timeoutMs: 5000 });
  });
});
