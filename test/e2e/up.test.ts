/**
 * `taskq up`, the main job of `npm start`: a private Redis under the state folder, the flagship
 * app's nodes, a ping through q_schedule, and Ctrl-C stopping every process it started.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { alive, root, runTaskq, spawnTaskq } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';
import { createApp } from '../../src/core/app.js';


// The demo's videos are made once for the three runs (ffmpeg), as a second npm start would find them.
const demoDir = mkdtempSync(`${tmpdir()}/taskq-up-demo-`);

// A whole fleet (Redis, four nodes, beat, two services) starting on a loaded 2-core machine.
describe('taskq up (npm start)', { timeout: 90_000 }, () => {
  it('starts Redis and the nodes, says where, serves a ping, and stops everything on Ctrl-C', async () => {
    const state = mkdtempSync(`${tmpdir()}/taskq-up-`);
    const env = { TASKQ_BROKER_URL: '', TASKQ_DEMO_DIR: demoDir };
    const up = await spawnTaskq(['up', '--state-dir', state], { env, waitReady: false });
    const out = await waitFor('the "taskq is up" summary', () => up.output(), (o) => o.includes('Ctrl-C stops everything'), { timeoutMs: 30_000 });
    const broker = /broker\s+(unix:\/\/\S+)/.exec(out)?.[1];
    expect(broker).toBe(`unix://${state}/redis/redis.sock`);
    const pids = [...out.matchAll(/^(capture|analyze|download|schedule)@\S+\s+(\d+)\s+(q_\w+)/gm)].map((m) => [m[1], Number(m[2]), m[3]] as const);
    expect(pids.map(([name, , q]) => `${name}:${q}`)).toEqual(['capture:q_pcap', 'analyze:q_analyze', 'download:q_download', 'schedule:q_schedule']);

    const ping = await runTaskq(['call', '-A', `${root}dist/app.js`, 'schedule.ping', '["hello"]', '--wait', '--timeout', '10', '--json'], { TASKQ_BROKER_URL: broker });
    expect(ping.code, ping.stderr).toBe(0);
    expect(JSON.parse(ping.stdout)).toMatchObject({ state: 'SUCCESS', task: 'schedule.ping', result: { pong: true, note: 'hello' } });

    // One beat runs beside the nodes, with the flagship's schedule.
    const beatPid = Number(/beat \(periodic tasks\): pid (\d+)/.exec(out)?.[1]);
    expect(alive(beatPid)).toBe(true);
    const ls = JSON.parse((await runTaskq(['beat', 'ls', '-A', `${root}dist/app.js`, '--json'], { TASKQ_BROKER_URL: broker })).stdout) as Array<{ name: string; enabled: boolean }>;
    expect(ls.map((e) => e.name)).toEqual(['evict-cache', 'stats-snapshot']);
    const runNow = await runTaskq(['beat', 'run-now', 'stats-snapshot', '-A', `${root}dist/app.js`], { TASKQ_BROKER_URL: broker });
    const id = /^sent (\S+)/.exec(runNow.stdout)?.[1] as string;
    const stats = await runTaskq(['result', id, '--wait', '--timeout', '10', '--json'], { TASKQ_BROKER_URL: broker });
    expect(JSON.parse(stats.stdout)).toMatchObject({ state: 'SUCCESS', task: 'schedule.stats', result: { queues: expect.arrayContaining([expect.objectContaining({ queue: 'q_schedule' })]) } });

    // The README's one-minute demo: a video fetched from the demo origin is seen by the capture on lo,
    // cached through aria2, and served by the cache server with the origin's sha256, and a thumbnail.
    const demo = /^demo: pid \d+, (http:\/\/\S+)$/m.exec(out)?.[1] as string;
    const cache = /^cache: pid \d+, (http:\/\/\S+)$/m.exec(out)?.[1] as string;
    expect(out).toContain('ran: taskq capture start -A dist/app.js --device lo');
    const video = Buffer.from(await (await fetch(`${demo}/demo.mp4`)).arrayBuffer());
    const cached = `${cache}/u?url=${encodeURIComponent(`${demo}/demo.mp4`)}`;
    await waitFor('the cached copy', async () => (await fetch(cached, { method: 'HEAD' })).status, (status) => status === 200, { timeoutMs: 30_000 });
    const copy = Buffer.from(await (await fetch(cached)).arrayBuffer());
    expect(createHash('sha256').update(copy).digest('hex')).toBe(createHash('sha256').update(video).digest('hex'));
    const entry = JSON.parse((await runTaskq(['cache', 'ls', '--json'], { TASKQ_BROKER_URL: broker })).stdout) as { id: string; file: string };
    expect(entry.file).toBe(`${state}/cache/store/${entry.id}.mp4`);
    // The web UI, with the URL that carries its token.
    const ui = /^ui: pid \d+, (http:\/\/127\.0\.0\.1:\d+)\/#token=[\w-]{20,}$/m.exec(out)?.[1] as string;
    expect((await (await fetch(`${ui}/api/workers`)).json()) as unknown).toMatchObject({ workers: expect.arrayContaining([expect.objectContaining({ node: expect.stringMatching(/^download@/) })]) });
    // The nodes run with task events (-E, the layout's "taskEvents"): the UI shows the download's task.
    await waitFor('the download task in the UI', async () => (await (await fetch(`${ui}/api/tasks?name=download.fetch`)).json()) as { tasks: Array<{ state: string }> }, (r) => r.tasks.some((t) => t.state === 'SUCCESS'), { timeoutMs: 10_000 });
    const thumb = await waitFor('the thumbnail', () => fetch(`${cache}/t/${entry.id}.jpg`), (r) => r.status === 200, { timeoutMs: 30_000 });
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');

    up.signal('SIGINT');
    expect(await up.exited).toBe(0);
    expect(up.output()).toContain('stopped\n');
    for (const [, pid] of pids) expect(alive(pid), `node pid ${pid}`).toBe(false);
    expect(alive(beatPid), 'beat').toBe(false);
    expect(existsSync(`${state}/redis/redis.sock`), 'Redis removes its socket when it stops').toBe(false);
  });

  it('Ctrl-C in a terminal (SIGINT to the whole process group) still stops cleanly', async () => {
    const state = mkdtempSync(`${tmpdir()}/taskq-up-`);
    const { spawn } = await import('node:child_process');

    // Its own process group, as a terminal's foreground job.
    const up = spawn(process.execPath, [`${root}bin/taskq`, 'up', '--state-dir', state], { env: { ...process.env, TASKQ_BROKER_URL: '', TASKQ_DEMO_DIR: demoDir }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    up.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = once(up, 'exit');
    await waitFor('the summary', () => out, (o) => o.includes('Ctrl-C stops everything'), { timeoutMs: 30_000 });
    const pids = [...out.matchAll(/^\w+@\S+\s+(\d+)\s+q_/gm)].map((m) => Number(m[1]));
    const started = Date.now();
    process.kill(-(up.pid as number), 'SIGINT');
    const [code] = await exited;
    expect(code, out).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000); // no node left waiting for a Redis that died first
    expect(out).toContain('stopped\n');
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(existsSync(`${state}/redis/redis.sock`)).toBe(false);
  });

  it('killed -9, it leaves no orphan: nodes, beat, services and Redis stop, and it starts again on the same state', async () => {
    const state = mkdtempSync(`${tmpdir()}/taskq-up-`);
    const env = { TASKQ_BROKER_URL: '', TASKQ_DEMO_DIR: demoDir };
    const up = await spawnTaskq(['up', '--state-dir', state], { env, waitReady: false });
    const out = await waitFor('the summary', () => up.output(), (o) => o.includes('Ctrl-C stops everything'), { timeoutMs: 30_000 });
    const pids = [...out.matchAll(/^\w+@\S+\s+(\d+)\s+q_|^(?:beat \(periodic tasks\)|cache|demo|ui): pid (\d+)/gm)].map((m) => Number(m[1] ?? m[2]));
    expect(pids).toHaveLength(8);
    const redisPid = Number(execFileSync('pgrep', ['-f', `unixsocket:${state}/redis/redis.sock`], { encoding: 'utf8' }).trim());
    up.signal('SIGKILL');
    await up.exited;
    await waitFor('every process it started to stop', () => [...pids, redisPid].filter(alive), (left) => left.length === 0, { timeoutMs: 60_000 });

    const again = await spawnTaskq(['up', '--state-dir', state], { env, waitReady: false });
    await waitFor('the summary, again', () => again.output(), (o) => o.includes('Ctrl-C stops everything'), { timeoutMs: 30_000 });
    again.signal('SIGINT');
    expect(await again.exited).toBe(0);
  });

  it('--with-parent (npm start): its parent killed -9, everything it started stops', async () => {
    const state = mkdtempSync(`${tmpdir()}/taskq-up-`);
    const { spawn } = await import('node:child_process');
    // A parent like npm's: a shell that runs taskq up and waits for it.
    const parent = spawn('sh', ['-c', `"${process.execPath}" "${root}bin/taskq" up --with-parent -A "${root}test/fixtures/apps/basic.mjs" --node w=default:1 --state-dir "${state}"; :`], { env: { ...process.env, TASKQ_BROKER_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    parent.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    parent.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    onTestFinished(() => void parent.kill('SIGKILL'));
    await waitFor('the summary', () => out, (o) => o.includes('Ctrl-C stops everything'), { timeoutMs: 30_000 });
    const node = Number(/^w@\S+\s+(\d+)\s+default/m.exec(out)?.[1]);
    const up = Number(execFileSync('pgrep', ['-P', String(parent.pid), '-f', 'bin/taskq up'], { encoding: 'utf8' }).trim());
    const redisPid = Number(execFileSync('pgrep', ['-f', `unixsocket:${state}/redis/redis.sock`], { encoding: 'utf8' }).trim());
    expect([node, up, redisPid].every(alive), out).toBe(true);
    parent.kill('SIGKILL');
    await waitFor('taskq up, its node and its Redis to stop', () => [up, node, redisPid].filter(alive), (left) => left.length === 0, { timeoutMs: 20_000 });
  });

  it('Ctrl-C twice while a task runs: the second makes the stop cold, and everything still stops, Redis last', async () => {
    const state = mkdtempSync(`${tmpdir()}/taskq-up-`);
    const up = await spawnTaskq(['up', '-A', `${root}test/fixtures/apps/basic.mjs`, '--node', 'w=default:1', '--state-dir', state], { env: { TASKQ_BROKER_URL: '' }, waitReady: false });
    const out = await waitFor('the summary', () => up.output(), (o) => o.includes('Ctrl-C stops everything'), { timeoutMs: 30_000 });
    const broker = /broker\s+(unix:\/\/\S+)/.exec(out)?.[1] as string;
    const node = Number(/^w@\S+\s+(\d+)\s+default/m.exec(out)?.[1]);
    // Its hints run the taskq that runs (from here: ./bin/taskq), each once.
    const hints = [...out.matchAll(/^ {2}TASKQ_BROKER_URL=\S+ (\S+) (.+)$/gm)];
    expect(hints.map((h) => h[2])).toEqual(['status']);
    expect(existsSync(resolve(process.cwd(), hints[0]![1]!))).toBe(true);
    const app = createApp({ broker });
    onTestFinished(() => app.close());
    const r = await app.send('slow', [60_000]);
    await waitFor('it to run', () => r.state(), (s) => s === 'STARTED');
    up.signal('SIGINT');
    await waitFor('the warm stop to begin', () => up.output(), (o) => o.includes('stopping…'));
    up.signal('SIGINT');
    expect(await up.exited).toBe(0);
    expect(up.output()).toContain('stopping cold');
    expect(up.output()).toContain('stopped\n');
    expect(alive(node)).toBe(false);
    expect(existsSync(`${state}/redis/redis.sock`), 'Redis stopped, after its node').toBe(false);
  });
});
