/**
 * The web UI's HTTP API on a real Redis with a real worker node (fastify inject, and a real socket for
 * the live stream): fleet and task views fed by the event stream, apply / revoke by API, /metrics, and
 * every refusal — no token, another origin, read-only, bad input, a public bind without a token.
 */
import { request } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createWebServer, type WebServer } from '../../../src/web/server.js';
import { uiSettings } from '../../../src/web/ui-settings.js';
import { EventsEnabler } from '../../../src/web/events-enabler.js';
import pino from 'pino';
import { createApp } from '../../../src/core/app.js';
import { UnrecoverableError } from '../../../src/errors.js';
import type { App } from '../../../src/core/app.js';
import { silent, startWorker, testApp } from '../../helpers/apps.js';
import { waitFor } from '../../helpers/wait-for.js';

const TOKEN = 'a-test-token-of-enough-length';

async function ui(app: App, options: { readOnly?: boolean; enableEvents?: boolean } = {}): Promise<WebServer> {
  const server = await createWebServer(app, uiSettings({ host: '127.0.0.1', port: 0, token: TOKEN, ...options }, {}), silent);
  onTestFinished(() => server.close());
  return server;
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('the web API', () => {
  it("turns task events on in the nodes while it runs, as Flower does: those up before it and those that come online after; not with enableEvents off", async () => {
    const app = testApp();
    app.task('add', (a: number, b: number) => a + b);
    const early = await startWorker(app, { name: 'early@test' });
    expect(early.taskEvents).toBe(false);
    const { web } = await ui(app);
    expect(early.taskEvents).toBe(true); // told before the server was handed over
    const late = await startWorker(app, { name: 'late@test', queues: ['late'] });
    await waitFor('the late node to turn task events on', () => late.taskEvents, (on) => on);
    const r = await app.send('add', [1, 2], {}, { queue: 'late' });
    await r.get({ timeout: 5000 });
    const detail = await waitFor('its events in the UI', async () => (await web.inject(`/api/tasks/${r.id}`)).json() as { events?: Array<{ type: string }> }, (d) => (d.events ?? []).some((e) => e.type === 'task-succeeded'));
    expect(detail.events?.map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);

    const other = testApp();
    const untouched = await startWorker(other, { name: 'untouched@test' });
    await ui(other, { enableEvents: false });
    expect(untouched.taskEvents).toBe(false);
  });

  it('does not tell nodes that came online long ago (the day of history it reads at start): only live ones', async () => {
    const app = testApp();
    const client = await app.client();
    const past = Date.now() - 3600_000;
    for (let i = 0; i < 20; i++) await client.xadd(app.keys.events, `${past + i}-0`, 'type', 'worker-online', 'data', JSON.stringify({ node: `gone${i}@test` }));
    const listener = await app.redis.connected('subscriber', 'spy');
    const told: string[][] = [];
    listener.on('message', (_channel: string, message: string) => {
      const request = JSON.parse(message) as { method: string; destination: string[] | null };
      if (request.method === 'enable_events') told.push(request.destination ?? ['*']);
    });
    await listener.subscribe(app.keys.control);
    const server = await ui(app);
    await waitFor('the history read', () => server.hub.position, (p) => p.startsWith(String(past + 19)));
    const node = await startWorker(app, { name: 'live@test' });
    await waitFor('the live node told', () => node.taskEvents, (on) => on);
    expect(told).toEqual([['live@test']]);
  });

  it("its own control connection: the UI's inspect calls never wait behind a node that does not answer enable_events", async () => {
    const app = testApp();
    const node = await startWorker(app, { name: 'real@test' });
    const client = await app.client();
    // A node killed -9 a moment ago: alive by its heartbeat for a while, answering nothing.
    const [s, us] = await client.time();
    await client.zadd(app.keys.nodes, Number(s) * 1000 + Math.floor(Number(us) / 1000), 'ghost@test');
    const spy = await app.redis.connected('subscriber', 'spy');
    const asked = new Promise<void>((resolve) => spy.on('message', (_c: string, m: string) => (JSON.parse(m) as { method: string }).method === 'enable_events' && resolve()));
    await spy.subscribe(app.keys.control);
    const enabling = new EventsEnabler(app, silent, 30_000).enable(['ghost@test']); // as when it came online
    await asked; // it waits for ghost@test's answer now, for its whole second
    const started = Date.now();
    const ping = await app.control.inspect('ping', { destination: [node.name], timeoutMs: 1500 });
    expect(ping.replies.map((r) => r.node)).toEqual(['real@test']);
    // On a shared connection the ping's wait queues behind the enabler's second; a ping itself takes milliseconds.
    expect(Date.now() - started).toBeLessThan(500);
    await enabling;
  });

  it('tells a node only while its heartbeat says its task events are off: no control call (nor info line) every 30 s for the others', async () => {
    const app = testApp();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    await startWorker(app, { name: 'on@test', taskEvents: true, logger });
    const enabler = new EventsEnabler(app, silent, 30_000);
    for (let i = 0; i < 3; i++) await enabler.enable(); // three sweeps
    expect(lines.filter((l) => l.includes('remote control: enable_events'))).toEqual([]);
  });

  it('shows nodes, queues and tasks from the event stream; applies and revokes by API; exports metrics', async () => {
    const app = testApp();
    app.task('add', (a: number, b: number) => a + b);
    app.task('wait', async (ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))), { bind: true });
    await startWorker(app, { name: 'web@test' });
    const { web } = await ui(app);

    expect((await web.inject('/healthz')).json()).toMatchObject({ ok: true, redis: 'up' });
    const workers = (await web.inject('/api/workers')).json() as { workers: Array<{ node: string }> };
    expect(workers.workers.map((w) => w.node)).toEqual(['web@test']);
    expect((await web.inject('/api/queues')).json()).toMatchObject({ queues: [expect.objectContaining({ queue: 'default', waiting: 0 })] });

    const applied = await web.inject({ method: 'POST', url: '/api/apply/add', headers: auth, payload: { args: [2, 3] } });
    expect(applied.statusCode).toBe(202);
    const { id } = applied.json() as { id: string };
    expect(await app.result(id).get({ timeout: 5000 })).toBe(5);
    const list = await waitFor('the task in the list', async () => (await web.inject(`/api/tasks?name=add`)).json() as { tasks: Array<{ id: string; state: string }> }, (r) => r.tasks[0]?.state === 'SUCCESS');
    expect(list.tasks.map((t) => t.id)).toContain(id);
    expect(((await web.inject('/api/tasks?search=nothing-like-it')).json() as { tasks: unknown[] }).tasks).toEqual([]);
    // Without task-sent events (the default), the args come with task-received and the result with
    // task-succeeded, as Celery's events carry them: both searchable, shown as their JSON text.
    const applied2 = (await web.inject({ method: 'POST', url: '/api/apply/add', headers: auth, payload: { args: [40, 2] } })).json() as { id: string };
    await app.result(applied2.id).get({ timeout: 5000 });
    const byArgs = await waitFor('it by its args', async () => (await web.inject('/api/tasks?search=40,2')).json() as { tasks: Array<{ id: string; args: unknown; result: unknown }> }, (r) => r.tasks[0]?.result !== undefined);
    expect(byArgs.tasks).toEqual([expect.objectContaining({ id: applied2.id, args: '[40,2]', result: '42' })]);
    expect(((await web.inject('/api/tasks?search=42')).json() as { tasks: Array<{ id: string }> }).tasks.map((t) => t.id)).toContain(applied2.id);
    const detail = (await web.inject(`/api/tasks/${id}`)).json() as { task: { name: string; args: unknown }; record: { state: string; result: number }; events: Array<{ type: string }> };
    expect(detail).toMatchObject({ task: { name: 'add' }, record: { state: 'SUCCESS', result: 5 } });
    expect(detail.events.map((e) => e.type)).toEqual(expect.arrayContaining(['task-received', 'task-started', 'task-succeeded']));

    const waiting = await app.send('wait', ['an argument']);
    await waitFor('it to start', () => waiting.state(), (s) => s === 'STARTED');
    // Its arguments come from its job while a queue holds it (task-sent events are off by default).
    expect((await web.inject(`/api/tasks/${waiting.id}`)).json()).toMatchObject({ task: { args: ['an argument'], queue: 'default' } });
    // A bare POST, as Flower takes, revokes without terminating.
    const bare = await web.inject({ method: 'POST', url: `/api/tasks/no-such-task/revoke`, headers: auth });
    expect(bare.statusCode, bare.body).toBe(200);
    const revoked = await web.inject({ method: 'POST', url: `/api/tasks/${waiting.id}/revoke`, headers: auth, payload: { terminate: true } });
    expect(revoked.json()).toMatchObject({ id: waiting.id, revoked: expect.any(String) });
    expect(await waitFor('REVOKED', () => waiting.state(), (s) => s === 'REVOKED')).toBe('REVOKED');

    // A task that failed for good runs again from the UI (found in its queue's dead letters).
    let runs = 0;
    const once = app.task('once', () => {
      runs++;
      if (runs === 1) throw new UnrecoverableError('first time fails');
      return 'second time works';
    });
    const failed = await once.delay();
    await failed.get({ timeout: 5000, propagate: false });
    expect((await web.inject({ method: 'POST', url: `/api/tasks/${failed.id}/retry`, headers: auth, payload: {} })).json()).toMatchObject({ queue: 'default' });
    expect(await waitFor('the second run', () => failed.state(), (s) => s === 'SUCCESS')).toBe('SUCCESS');
    expect((await web.inject({ method: 'POST', url: `/api/tasks/${failed.id}/retry`, headers: auth, payload: {} })).statusCode).toBe(404);

    const metrics = (await web.inject('/metrics')).body;
    expect(metrics).toMatch(/taskq_events_total\{type="task-succeeded"\} [1-9]/);
    expect(metrics).toContain('taskq_queue_jobs{queue="default",state="waiting"} 0');
    expect(metrics).toContain('taskq_workers_online 1');
    expect(metrics).toMatch(/taskq_task_runtime_seconds_count\{task="add",outcome="succeeded"\} 2/);
  });

  it('refuses, with the reason: no token, a wrong one, another origin, read-only, bad input, unknown paths', async () => {
    const app = testApp();
    const { web } = await ui(app);
    const post = (headers: Record<string, string>, url = '/api/apply/add', payload: unknown = { args: [1] }) => web.inject({ method: 'POST', url, headers, payload: payload as object });
    expect((await post({})).statusCode).toBe(401);
    expect((await post({})).json().error).toContain('changes need the UI token');
    expect((await post({ authorization: 'Bearer wrong-token-of-some-length' })).statusCode).toBe(401);
    const cross = await post({ ...auth, origin: 'http://evil.example' });
    expect([cross.statusCode, cross.json().error]).toEqual([403, 'a change from another origin (http://evil.example) is refused']);
    expect((await post(auth, '/api/apply/add', { args: 'not a list' })).json()).toEqual({ error: 'body/args must be array' });
    const unknownField = await post(auth, '/api/apply/add', { args: [], evil: 1 });
    expect([unknownField.statusCode, unknownField.json().error]).toEqual([400, expect.stringContaining('unknown field "evil"')]);
    expect((await post(auth, '/api/apply/..%2Fetc')).statusCode).toBe(400);
    // A task the UI's app does not register is refused, as Flower does: nothing is sent to a queue no node reads.
    expect((await post(auth, '/api/apply/nosuch', { args: [] })).statusCode).toBe(202); // an app without tasks: any name goes, as send_task
    app.task('add', (a: number, b: number) => a + b);
    const unknown = await post(auth, '/api/apply/nosuch', { args: [] });
    expect([unknown.statusCode, unknown.json().error]).toEqual([404, expect.stringMatching(/^unknown task "nosuch": the UI's app \(-A\) registers .*\badd\b/)]);
    expect((await web.inject('/api/tasks?state=NOPE')).json().error).toMatch(/querystring\/state must be equal to one of the allowed values: .*"SUCCESS"/);
    expect((await web.inject('/api/tasks?limit=100000')).statusCode).toBe(400);
    expect((await web.inject('/api/tasks/no-such-task')).statusCode).toBe(404);
    expect((await web.inject('/api/nothing')).json()).toEqual({ error: 'no such path: GET /api/nothing' });

    const { web: readOnly } = await ui(app, { readOnly: true });
    const refused = await readOnly.inject({ method: 'POST', url: '/api/apply/add', headers: auth, payload: { args: [] } });
    expect([refused.statusCode, refused.json().error]).toEqual([403, expect.stringContaining('the UI is read-only')]);
    expect((await readOnly.inject('/api/workers')).statusCode).toBe(200);

    expect(() => uiSettings({ host: '0.0.0.0', port: 0 }, {})).toThrow('the UI on 0.0.0.0 would be reachable from other machines: set a token');
    const open = await createWebServer(app, uiSettings({ host: '0.0.0.0', port: 0, token: TOKEN }, {}), silent);
    onTestFinished(() => open.close());
    // Bound beyond loopback: reads need the token too.
    expect((await open.web.inject('/api/workers')).statusCode).toBe(401);
    expect((await open.web.inject({ url: '/api/workers', headers: auth })).statusCode).toBe(200);
    expect((await open.web.inject('/healthz')).statusCode).toBe(200);
  });

  it('live events over SSE: a client resuming from an event id gets every later event, then new ones, none twice', async () => {
    const app = testApp();
    app.task('add', (a: number, b: number) => a + b);
    await startWorker(app);
    const server = await ui(app);
    const base = await server.listen();
    const first = await app.send('add', [1, 1]);
    await first.get({ timeout: 5000 });
    const events = await (await app.client()).xrange(app.keys.events, '-', '+');
    const cursor = events[0]![0];
    const received: Array<{ id: string; type: string }> = [];
    const req = request(`${base}/api/events`, { headers: { 'last-event-id': cursor } }, (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        for (let i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) {
          const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
          if (data) received.push(JSON.parse(data) as { id: string; type: string });
        }
      });
    });
    req.end();
    onTestFinished(() => void req.destroy());
    await waitFor('the backlog', () => received.length, (n) => n >= events.length - 1);
    expect(received.slice(0, events.length - 1).map((e) => e.id)).toEqual(events.slice(1).map(([id]) => id));
    const second = await app.send('add', [2, 2]);
    await second.get({ timeout: 5000 });
    await waitFor('the live events', () => received.filter((e) => e.type === 'task-succeeded').length, (n) => n === 2);
    const ids = received.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the web API: managing nodes, beat and the cache', () => {
  it('inspects and controls nodes, changes the beat schedule, lists and removes cache entries, each refusal with its reason', async () => {
    const app = testApp({ beatSchedule: { tick: { task: 'add', every: '1m', args: [1, 2] } } });
    app.task('add', (a: number, b: number) => a + b);
    await startWorker(app, { name: 'manage@test', concurrency: 2 });
    const { web } = await ui(app);
    const post = (url: string, payload: object = {}) => web.inject({ method: 'POST', url, headers: auth, payload });

    const stats = (await web.inject('/api/inspect/active_queues')).json() as { replies: Array<{ node: string; ok: boolean }> };
    expect(stats.replies).toEqual([expect.objectContaining({ node: 'manage@test', ok: true })]);
    expect((await web.inject('/api/inspect/format_disk')).statusCode).toBe(400);
    const grown = (await post('/api/control/pool_grow', { nodes: ['manage@test'], args: { n: 1 } })).json() as { replies: Array<{ ok: boolean }> };
    expect(grown.replies).toEqual([expect.objectContaining({ ok: true })]);
    expect((await post('/api/control/revoke', { args: {} })).statusCode).toBe(400); // revoking has its own endpoint

    expect(((await web.inject('/api/beat')).json() as { entries: Array<{ name: string; source: string }> }).entries).toEqual([expect.objectContaining({ name: 'tick', source: 'app' })]);
    expect((await post('/api/beat', { name: 'later', spec: { task: 'add', every: '30s' } })).statusCode).toBe(201);
    const tooOften = await post('/api/beat', { name: 'often', spec: { task: 'add', every: '10ms' } });
    expect([tooOften.statusCode, tooOften.json().error]).toEqual([400, expect.stringContaining('too short')]);
    expect((await post('/api/beat/tick/disable')).json()).toEqual({ disabled: 'tick' });
    expect((await post('/api/beat/tick/remove')).json().error).toContain('tick');
    expect((await post('/api/beat/later/run-now')).json()).toEqual({ sent: expect.any(String) });
    expect((await post('/api/beat/later/remove')).json()).toEqual({ removed: 'later' });
    expect((await post('/api/beat/bad%20name/enable')).statusCode).toBe(400);
    const entries = ((await web.inject('/api/beat')).json() as { entries: Array<{ name: string; enabled: boolean }> }).entries;
    expect(entries).toEqual([expect.objectContaining({ name: 'tick', enabled: false })]);

    expect((await web.inject('/api/cache')).json()).toMatchObject({ entries: [], count: 0, bytes: 0 });
    expect((await post(`/api/cache/${'a'.repeat(32)}/remove`)).statusCode).toBe(404);
    expect((await post('/api/cache/..%2F..%2Fetc/remove')).statusCode).toBe(400);
    expect((await web.inject(`/api/cache/${'a'.repeat(32)}/thumbnail.jpg`)).statusCode).toBe(404);
  });
});

describe('enqueueing from other tools', () => {
  it("takes Logstash's http output (one JSON event, or a batch with ?each=1) and RestMQ-style messages on a queue", async () => {
    const app = testApp();
    const seen: unknown[] = [];
    app.task('ingest', (event: unknown) => (seen.push(event), 'ok'));
    await startWorker(app, { queues: ['default', 'logs'] });
    const { web } = await ui(app);
    const one = await web.inject({ method: 'POST', url: '/api/send/ingest', headers: auth, payload: { message: 'GET /video.mp4', '@timestamp': '2026-11-30T10:00:00Z' } });
    expect(one.statusCode).toBe(202);
    expect(await app.result((one.json() as { id: string }).id).get({ timeout: 5000 })).toBe('ok');
    const batch = await web.inject({ method: 'POST', url: '/api/send/ingest?each=1', headers: auth, payload: [{ n: 1 }, { n: 2 }] });
    expect((batch.json() as { ids: string[] }).ids).toHaveLength(2);
    const form = await web.inject({ method: 'POST', url: '/q/logs?task=ingest', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'value=hello+there' });
    expect(form.json()).toMatchObject({ queue: 'logs' });
    const text = await web.inject({ method: 'POST', url: '/q/logs?task=ingest', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'plain words' });
    await app.result((text.json() as { id: string }).id).get({ timeout: 5000 });
    await waitFor('all five', () => seen.length, (n) => n === 5);
    expect(seen).toEqual(expect.arrayContaining([{ message: 'GET /video.mp4', '@timestamp': '2026-11-30T10:00:00Z' }, { n: 1 }, { n: 2 }, 'hello there', 'plain words']));

    expect((await web.inject({ method: 'POST', url: '/q/logs', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'x' })).json().error).toContain('name the task that takes messages on logs');
    expect((await web.inject({ method: 'POST', url: '/api/send/ingest?each=1', headers: auth, payload: { not: 'a list' } })).statusCode).toBe(400);
    expect((await web.inject({ method: 'POST', url: '/q/logs?task=ingest', payload: 'value=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode).toBe(401);
  });
});

describe('the web API against a reviewer', () => {
  it('percent-encoded paths do not skip the token; a foreign Host (DNS rebinding) is refused on loopback; HTTPS origins pass', async () => {
    const app = testApp();
    const open = await createWebServer(app, uiSettings({ host: '0.0.0.0', port: 0, token: TOKEN }, {}), silent);
    onTestFinished(() => open.close());
    for (const url of ['/%61pi/tasks', '/%61pi/settings', '/%6detrics', '/api/%74asks', '/%61pi/events?from=$']) {
      expect((await open.web.inject(url)).statusCode, url).toBe(401);
    }
    expect((await open.web.inject('/')).statusCode).toBe(200);
    expect((await open.web.inject('/healthz')).statusCode).toBe(200);

    const { web } = await ui(app);
    const rebound = await web.inject({ url: '/api/tasks', headers: { host: 'attacker.example:5555' } });
    expect([rebound.statusCode, rebound.json().error]).toEqual([421, expect.stringContaining('attacker.example')]);
    for (const host of ['127.0.0.1:5555', 'localhost:5555', '[::1]:5555', 'localhost']) expect((await web.inject({ url: '/api/tasks', headers: { host } })).statusCode, host).toBe(200);
    const proxied = await web.inject({ method: 'POST', url: '/api/apply/add', headers: { ...auth, host: 'localhost:5555', origin: 'https://localhost:5555' }, payload: { args: [] } });
    expect(proxied.statusCode).toBe(202);
  });

  it('a live stream with a cursor Redis refuses says so and leaks nothing; close() ends open streams; HEAD does not hang', async () => {
    const app = testApp();
    const server = await ui(app);
    const base = await server.listen();
    const bad = await fetch(`${base}/api/events?from=1-99999999999999999999`);
    expect(bad.status).toBe(400);
    const listeners = (server.hub as unknown as { listeners: Set<unknown> }).listeners.size;
    const head = await fetch(`${base}/api/events`, { method: 'HEAD', signal: AbortSignal.timeout(3000) });
    expect(head.status).toBe(200);
    // `from=0`, as `taskq events --from 0` takes it: the whole stream.
    const whole = await fetch(`${base}/api/events?from=0`);
    expect(whole.status).toBe(200);
    await whole.body!.cancel();
    const stream = await fetch(`${base}/api/events?from=$`);
    const reader = stream.body!.getReader();
    await reader.read(); // the stream is open
    await server.close(); // would wait for the client forever
    expect((server.hub as unknown as { listeners: Set<unknown> }).listeners.size).toBeLessThanOrEqual(listeners);
  });

  it('enqueue mistakes are 400s, not 500s; /healthz says 503 quickly when Redis is gone', async () => {
    const app = testApp();
    const { web } = await ui(app);
    expect((await web.inject({ method: 'POST', url: '/api/send/foo?queue=bad%20queue', headers: auth, payload: {} })).statusCode).toBe(400);
    expect((await web.inject({ method: 'POST', url: '/q/bad%20queue?task=foo', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'x' })).statusCode).toBe(400);
    expect((await web.inject({ method: 'POST', url: '/q/logs', headers: auth, payload: { task: 'x y', value: 1 } })).statusCode).toBe(400);

    const gone = createApp({ broker: 'redis://127.0.0.1:1/0', keyPrefix: 'gone' });
    onTestFinished(() => gone.close());
    const lonely = await createWebServer(gone, uiSettings({ host: '127.0.0.1', port: 0, token: TOKEN }, {}), silent);
    onTestFinished(() => lonely.close());
    const health = await lonely.web.inject('/healthz');
    expect([health.statusCode, health.json()]).toEqual([503, expect.objectContaining({ ok: false, redis: 'down' })]);
  });
});
