/**
 * deploy/taskq.service and worker.conf under a real systemd (booted in private namespaces): start
 * brings every node up as an unprivileged user, reload restarts them in place with a long task in
 * flight, stop lets running tasks finish, and no job is lost on the way.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { root } from '../helpers/processes.js';
import { bootSystemd } from '../helpers/systemd.js';
import { waitFor } from '../helpers/wait-for.js';
import { execFileSync } from 'node:child_process';

describe('deploy/taskq.service under systemd', () => {
  it('systemd-analyze verify accepts the units (workers, beat)', () => {
    expect(() => execFileSync('systemd-analyze', ['verify', `${root}deploy/taskq.service`, `${root}deploy/taskq-beat.service`], { stdio: 'pipe' })).not.toThrow();
  });

  it('start, reload with a long task in flight, stop: all nodes up, restarted in place, then gone; 0 jobs lost', async () => {
    // In the checkout, which the namespace shows at /opt/taskq: both sides see it; readable by the unit's user.
    const name = `systemd-${randomBytes(4).toString('hex')}`;
    const state = `${root}.state/${name}`;
    const inside = `/opt/taskq/.state/${name}`;
    mkdirSync(state, { recursive: true });
    chmodSync(state, 0o755);
    onTestFinished(() => rmSync(state, { recursive: true, force: true }));
    const systemd = await bootSystemd(root);
    const redis = await systemd.run(['redis-server', '--port', '0', '--unixsocket', `${inside}/redis.sock`, '--unixsocketperm', '777', '--dir', inside, '--save', '', '--appendonly', 'no', '--daemonize', 'yes']);
    expect(redis.code, redis.stderr).toBe(0);
    const socket = `${state}/redis.sock`;
    const broker = `unix://${socket}`;
    await waitFor('Redis to listen', () => existsSync(socket), (ok) => ok);

    // The unit and worker.conf as shipped (the checkout is at /opt/taskq, where they expect it), with
    // the test app's nodes and this Redis.
    const conf = readFileSync(`${root}worker.conf`, 'utf8')
      .replace(/^TASKQ_NODES=.*$/m, 'TASKQ_NODES="w1 w2"')
      .replace(/^TASKQ_APP=.*$/m, 'TASKQ_APP="test/fixtures/apps/basic.mjs"')
      .replace(/^TASKQ_OPTS=.*$/m, 'TASKQ_OPTS="-c 2"')
      .replace(/^TASKQ_BROKER_URL=.*$/m, `TASKQ_BROKER_URL="unix://${inside}/redis.sock"`);
    await systemd.writeFile('/etc/taskq/worker.conf', conf);
    await systemd.writeFile('/run/systemd/system/taskq.service', readFileSync(`${root}deploy/taskq.service`, 'utf8'));
    expect((await systemd.systemctl('daemon-reload')).code).toBe(0);

    const start = await systemd.systemctl('start', 'taskq');
    const journal = async (): Promise<string> => (await systemd.run(['journalctl', '-u', 'taskq', '--no-pager'])).stdout;
    expect(start.code, `${start.stderr}\n${await journal()}`).toBe(0);
    expect((await systemd.systemctl('is-active', 'taskq')).stdout.trim()).toBe('active');
    // The cache worker.conf names is the unit's CacheDirectory, its dynamic user's to write.
    const cacheDir = /^TASKQ_CACHE_DIR="(.*)"$/m.exec(conf)?.[1] as string;
    const owner = await systemd.run(['stat', '-L', '-c', '%U', cacheDir]);
    expect(owner.code, owner.stderr).toBe(0);
    expect(owner.stdout.trim()).not.toBe('root');

    const app = createApp({ broker });
    onTestFinished(() => app.close());
    const ping = await app.control.inspect('ping');
    expect(ping.replies.map((r) => r.node.split('@')[0])).toEqual(['w1', 'w2']);
    // Not root: the unit's dedicated user.
    const stats = await app.control.inspect('stats');
    for (const r of stats.replies) {
      if (!r.ok) throw new Error(r.error.message);
      const status = (await systemd.run(['cat', `/proc/${r.result.pid}/status`])).stdout;
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).not.toBe('0');
      expect(/^CapAmb:\s+(\w+)/m.exec(status)?.[1]).toBe('0000000000002000'); // CAP_NET_RAW only
    }
    const pidsBefore = stats.replies.map((r) => (r.ok ? r.result.pid : 0)).sort();

    const sent = [];
    const inReload = await app.send('slow', [2500]);
    sent.push(inReload);
    const client = await app.client();
    await waitFor('the long task to start', () => client.lrange(`${app.keys.prefix}:started`, 0, -1), (l) => l.includes(inReload.id));
    const reload = await systemd.systemctl('reload', 'taskq');
    expect(reload.code, `${reload.stderr}\n${await journal()}`).toBe(0);
    expect((await systemd.systemctl('is-active', 'taskq')).stdout.trim()).toBe('active');
    const after = await app.control.inspect('stats');
    expect(after.replies.map((r) => (r.ok ? r.result.pid : 0)).sort()).toEqual(pidsBefore); // restarted in place
    for (const r of after.replies) expect(r.ok && r.result.uptimeMs).toBeLessThan(10_000);
    expect(await inReload.get({ timeout: 10_000 })).toBe('done');

    for (let i = 0; i < 20; i++) sent.push(await app.send('add', [i, 1]));
    const inStop = await app.send('slow', [2000]);
    sent.push(inStop);
    await waitFor('the task in flight at stop to start', () => client.lrange(`${app.keys.prefix}:started`, 0, -1), (l) => l.includes(inStop.id));
    const stop = await systemd.systemctl('stop', 'taskq');
    expect(stop.code, stop.stderr).toBe(0);
    expect((await systemd.systemctl('is-active', 'taskq')).stdout.trim()).toBe('inactive');
    expect((await app.control.inspect('ping', { timeoutMs: 300 })).replies).toEqual([]);
    const states = await Promise.all(sent.map((r) => r.state()));
    expect(states.filter((s) => s !== 'SUCCESS')).toEqual([]);
  });
});
