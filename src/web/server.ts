/**
 * The web UI's server (fastify): the page, the JSON API, live events (SSE) and /metrics, over one
 * live reader of the event stream. Binds loopback unless told otherwise; see guard.ts for who may do
 * what. Errors come back as JSON `{error}` with the right 4xx / 5xx.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { App } from '../core/app.js';
import { defaults } from '../defaults.js';
import { listenError } from '../errors.js';
import { EventHub } from './event-hub.js';
import { EventsEnabler } from './events-enabler.js';
import { guard } from './guard.js';
import { fleetRoutes } from './routes/api-fleet.js';
import { taskRoutes } from './routes/api-tasks.js';
import { liveRoutes } from './routes/live.js';
import { manageRoutes } from './routes/api-manage.js';
import { aria2Routes } from './routes/api-aria2.js';
import { enqueueRoutes } from './routes/enqueue.js';
import { Aria2Registry } from './aria2-registry.js';
import { metricsRoutes } from './routes/metrics.js';
import { pageRoutes } from './routes/pages.js';
import { TaskState } from './task-state.js';
import type { UiSettings } from './ui-settings.js';

export interface WebServer {
  web: FastifyInstance;
  hub: EventHub;
  state: TaskState;
  /** Listening address, once listen() resolved. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: { additionalProperty?: string; allowedValues?: unknown[] };
}

/** Ajv's message, with what it leaves out: the unknown field's name, the values allowed. */
function validationText(err: Error & { validation: ValidationIssue[] }): string {
  const issue = err.validation[0];
  if (issue?.params?.additionalProperty !== undefined) return `${err.message}: unknown field ${JSON.stringify(issue.params.additionalProperty)}`;
  if (issue?.params?.allowedValues) return `${err.message}: ${issue.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return err.message;
}

/** Errors as JSON `{error}`: validation 400, the route's own 4xx, else 500 (logged). */
function errorReplies(web: FastifyInstance, log: Logger): void {
  web.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ error: validationText(err as Error & { validation: ValidationIssue[] }) });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err }, 'ui: request failed');
    return reply.code(status).send({ error: err.message });
  });
  web.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no such path: ${req.method} ${req.url.split('?')[0]?.slice(0, 200)}` }));
}

/** Every route; returns the live streams' handle (open streams would keep the server from closing). */
function routes(web: FastifyInstance, app: App, settings: UiSettings, state: TaskState, hub: EventHub): { closeAll(): void } {
  web.get('/healthz', async (_req, reply) => {
    // Offline, ioredis queues commands: a probe gets its answer within a second either way.
    const ping = (async () => (await app.client()).ping())();
    const redis = await Promise.race([ping.then(() => 'up', () => 'down'), sleep(1000, 'down', { ref: false })]);
    ping.catch(() => undefined);
    return reply.code(redis === 'up' ? 200 : 503).send({ ok: redis === 'up', redis, tasksKnown: state.size });
  });
  web.get('/api/settings', async () => ({ readOnly: settings.readOnly }));
  taskRoutes(web, app, state);
  fleetRoutes(web, app);
  manageRoutes(web, app);
  const aria2 = new Aria2Registry();
  aria2Routes(web, app, aria2);
  enqueueRoutes(web, app);
  const live = liveRoutes(web, hub);
  metricsRoutes(web, app, hub, aria2);
  pageRoutes(web, new URL('../../dist/ui/', import.meta.url));
  return live;
}

export async function createWebServer(app: App, settings: UiSettings, log: Logger): Promise<WebServer> {
  // Query strings are coerced (limit=5 is a number), but a string never becomes a list, and an
  // unknown field is refused rather than silently dropped.
  const web = Fastify({ logger: false, bodyLimit: 1024 * 1024, ajv: { customOptions: { coerceTypes: true, removeAdditional: false } } });
  const state = new TaskState({ maxTasks: defaults.uiMaxTasks, maxEvents: defaults.uiMaxEventsPerTask });
  const hub = new EventHub(app, (err) => log.warn({ err: err.message }, 'ui: reading the event stream failed; retrying'));
  hub.subscribe((e) => state.add(e));
  web.addHook('onRequest', guard(settings));
  errorReplies(web, log);
  const live = routes(web, app, settings, state, hub);
  await hub.start();
  const enabler = settings.enableEvents ? new EventsEnabler(app, log, defaults.uiEnableEventsMs) : undefined;
  if (enabler) {
    hub.subscribe(enabler.onEvent);
    await enabler.start();
  }
  const server: WebServer = {
    web,
    hub,
    state,
    url: '',
    listen: async () => {
      const address = await web.listen({ host: settings.host, port: settings.port }).catch((err: unknown) => {
        throw listenError(err, 'web UI', settings.host, settings.port, '--port or TASKQ_UI_PORT');
      });
      server.url = address.replace('[::1]', 'localhost');
      return server.url;
    },
    close: async () => {
      live.closeAll(); // open live streams would keep the server from closing
      enabler?.stop();
      await hub.stop();
      await web.close();
    },
  };
  return server;
}
