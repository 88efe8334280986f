/**
 * `taskq up`, the main job of `npm start`: a private Redis under the state folder, the flagship
 * app's nodes, a ping through q_schedule, and Ctrl-C stopping every process it started.
 */
import { once } from 'node:events';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { alive, root, runTaskq, spawnTaskq } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';


describe('taskq up (npm start)', () => {
  it('starts Redis and the nodes, says where, serves a ping, and stops everything on Ctrl-C', async () => {
    const state = mkdtempSync(`${tmpdir()}/taskq-up-`);
    const env = { TASKQ_BROKER_URL: '' };
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
    expect(ls.map((e) => e.name)).toEqual(['stats-snapshot']);
    const runNow = await runTaskq(['beat', 'run-now', 'stats-snapshot', '-A', `${root}dist/app.js`], { TASKQ_BROKER_URL: broker });
    const id = /^sent (\S+)/.exec(runNow.stdout)?.[1] as string;
    const stats = await runTaskq(['result', id, '--wait', '--timeout', '10', '--json'], { TASKQ_BROKER_URL: broker });
    expect(JSON.parse(stats.stdout)).toMatchObject({ state: 'SUCCESS', task: 'schedule.stats', result: { queues: expect.arrayContaining([expect.objectContaining({ queue: 'q_schedule' })]) } });

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
    const up = spawn(process.execPath, [`${root}bin/taskq`, 'up', '--state-dir', state], { env: { ...process.env, TASKQ_BROKER_URL: '' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
});
