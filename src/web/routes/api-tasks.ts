/**
 * Tasks over HTTP: the list (filters, search), one task (its record and events), apply a task by
 * name, revoke / terminate, retry a dead job. Inputs are checked by schema: a bad one is a 400 that
 * says which field and why.
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../core/app.js';
import { userTaskNames } from '../../core/canvas/frozen.js';
import { aliveNodes, listQueues, retryDead } from '../../core/queue-admin.js';
import { TaskqError } from '../../errors.js';
import { decodeJobRecord } from '../../broker/message.js';
import type { TaskQuery, TaskState } from '../task-state.js';

const STATE = { type: 'string', enum: ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'] } as const;
const ID = { type: 'string', minLength: 1, maxLength: 200 } as const;
const NAME = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z_][A-Za-z0-9_.:\\-]*$' } as const;

/** The job's own record while a queue still holds it (waiting, running, retrying, dead): its args and queue. */
async function jobOf(app: App, id: string): Promise<{ args: unknown[]; kwargs?: Record<string, unknown>; queue: string } | undefined> {
  const client = await app.client();
  const nodes = await aliveNodes(app);
  for (const queue of await listQueues(app, nodes.flatMap((n) => n.queues ?? []))) {
    const raw = await client.hget(app.keys.queue(queue, 'jobs'), id);
    if (!raw) continue;
    try {
      const data = decodeJobRecord(raw, id, queue).data;
      return { args: data.args, ...(data.kwargs ? { kwargs: data.kwargs } : {}), queue };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function taskRoutes(web: FastifyInstance, app: App, state: TaskState): void {
  readRoutes(web, app, state);
  applyRoute(web, app);
  actionRoutes(web, app);
}

/** The list and one task. */
function readRoutes(web: FastifyInstance, app: App, state: TaskState): void {
  web.get<{ Querystring: TaskQuery }>('/api/tasks', {
    schema: {
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { name: NAME, state: STATE, node: { type: 'string', maxLength: 300 }, since: { type: 'integer', minimum: 0 }, until: { type: 'integer', minimum: 0 }, search: { type: 'string', maxLength: 200 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
      },
    },
  }, async (req) => ({ tasks: state.query(req.query), known: state.size }));

  web.get<{ Params: { id: string } }>('/api/tasks/:id', { schema: { params: { type: 'object', properties: { id: ID }, required: ['id'] } } }, async (req, reply) => {
    const seen = state.get(req.params.id);
    const record = await app.result(req.params.id).info();
    const job = await jobOf(app, req.params.id);
    if (!seen && !record && !job) return reply.code(404).send({ error: `no task ${req.params.id} (not in the events the UI kept, no result record, no job)` });
    // The job's own arguments (exact, with kwargs) beat the events' previews while a queue holds it.
    return { task: { ...(seen?.row ?? { id: req.params.id }), ...(job ?? {}) }, record: record ?? null, events: seen?.events ?? [] };
  });

}

/** Sending a task by name. */
function applyRoute(web: FastifyInstance, app: App): void {
  web.post<{ Params: { name: string }; Body: { args?: unknown[]; kwargs?: Record<string, unknown>; options?: { countdown?: number; queue?: string; priority?: 'high' | 'normal' | 'low' } } }>('/api/apply/:name', {
    schema: {
      params: { type: 'object', properties: { name: NAME }, required: ['name'] },
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          args: { type: 'array', maxItems: 1000 },
          kwargs: { type: 'object', maxProperties: 1000 },
          options: { type: 'object', additionalProperties: false, properties: { countdown: { type: 'number', minimum: 0 }, queue: { type: 'string', maxLength: 200 }, priority: { type: 'string', enum: ['high', 'normal', 'low'] } } },
        },
      },
    },
  }, async (req, reply) => {
    // As Flower: with an app (-A) that registers tasks, a name it does not know is refused, not sent to a queue no node may read.
    const known = userTaskNames(app.tasks);
    if (known.length > 0 && !app.tasks.has(req.params.name)) {
      return reply.code(404).send({ error: `unknown task ${JSON.stringify(req.params.name)}: the UI's app (-A) registers ${known.slice(0, 50).join(', ')}` });
    }
    try {
      const r = await app.send(req.params.name, req.body?.args ?? [], req.body?.kwargs ?? {}, req.body?.options ?? {});
      return reply.code(202).send({ id: r.id });
    } catch (err) {
      if (err instanceof TaskqError && err.exitCode !== 69) return reply.code(400).send({ error: err.message, code: err.code });
      throw err;
    }
  });

}

/** Revoke, and retrying a dead job. */
function actionRoutes(web: FastifyInstance, app: App): void {
  web.post<{ Params: { id: string }; Body: { terminate?: boolean } }>('/api/tasks/:id/revoke', {
    schema: { params: { type: 'object', properties: { id: ID }, required: ['id'] }, body: { type: 'object', additionalProperties: false, properties: { terminate: { type: 'boolean' } } } },
    // No body is no options (Flower takes a bare POST), not a 400.
    preValidation: async (req) => void (req.body ??= {}),
  }, async (req) => ({ id: req.params.id, revoked: await app.revoke(req.params.id, { terminate: req.body?.terminate ?? false }) }));

  // A task that failed for good, found in whichever queue's dead letters hold it, runs again.
  web.post<{ Params: { id: string } }>('/api/tasks/:id/retry', { schema: { params: { type: 'object', properties: { id: ID }, required: ['id'] } } }, async (req, reply) => {
    const client = await app.client();
    const nodes = await aliveNodes(app);
    for (const queue of await listQueues(app, nodes.flatMap((n) => n.queues ?? []))) {
      if ((await client.zscore(app.keys.queue(queue, 'dead'), req.params.id)) === null) continue;
      return { retried: await retryDead(app, queue, [req.params.id]), queue };
    }
    return reply.code(404).send({ error: `${req.params.id} is not in the dead letters: only a job that failed for good can be retried` });
  });

  web.post<{ Params: { queue: string; id: string } }>('/api/dead/:queue/:id/retry', {
    schema: { params: { type: 'object', properties: { queue: { type: 'string', minLength: 1, maxLength: 200 }, id: ID }, required: ['queue', 'id'] } },
  }, async (req, reply) => {
    const retried = await retryDead(app, req.params.queue, [req.params.id]);
    return retried.length ? { retried } : reply.code(404).send({ error: `no dead job ${req.params.id} in ${req.params.queue}` });
  });
}
