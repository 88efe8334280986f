/**
 * Enqueueing from other tools: `POST /api/send/<task>` takes any JSON body as the task's one argument
 * (what Logstash's `http` output sends with `format => "json"`; with `?each=1` a JSON array is one job
 * per element, as `format => "json_batch"` sends), and `POST /q/<queue>?task=<name>` takes a RestMQ-style
 * message (`value=<text>` form field, or a plain or JSON body) onto a queue. Both need the UI token.
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../core/app.js';
import { QUEUE_NAME_PATTERN } from '../../broker/keys.js';
import { TaskqError } from '../../errors.js';

const NAME = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z_][A-Za-z0-9_.:\\-]*$' } as const;
const QUEUE = { type: 'string', minLength: 1, maxLength: 200, pattern: QUEUE_NAME_PATTERN.source } as const;
const TASK_NAME = new RegExp(NAME.pattern);
const MAX_BATCH = 10_000;

/** A send refused for what was asked (not because Redis is down) is the caller's 400. */
async function sending<T>(reply: { code(n: number): { send(b: unknown): unknown } }, send: () => Promise<T>): Promise<T | unknown> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof TaskqError && err.exitCode !== 69) return reply.code(400).send({ error: err.message });
    throw err;
  }
}

export function enqueueRoutes(web: FastifyInstance, app: App): void {
  // Form posts (RestMQ's `value=`) and plain text, besides fastify's JSON.
  web.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  web.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  web.post<{ Params: { task: string }; Querystring: { each?: string; queue?: string } }>('/api/send/:task', {
    schema: { params: { type: 'object', properties: { task: NAME } }, querystring: { type: 'object', additionalProperties: false, properties: { each: { type: 'string', enum: ['1', 'true', '0', 'false'] }, queue: QUEUE } } },
  }, async (req, reply) => {
    const body: unknown = req.body;
    if (body === undefined || body === null) return reply.code(400).send({ error: 'the body is the task\'s argument: send JSON (an object, a list with ?each=1, or any value)' });
    const options = req.query.queue ? { queue: req.query.queue } : {};
    if (req.query.each === '1' || req.query.each === 'true') {
      if (!Array.isArray(body)) return reply.code(400).send({ error: '?each=1 takes a JSON array: one job per element' });
      if (body.length > MAX_BATCH) return reply.code(413).send({ error: `at most ${MAX_BATCH} jobs per request, got ${body.length}` });
      return sending(reply, async () => reply.code(202).send({ ids: (await Promise.all(body.map((item) => app.send(req.params.task, [item], {}, options)))).map((r) => r.id) }));
    }
    return sending(reply, async () => reply.code(202).send({ id: (await app.send(req.params.task, [body], {}, options)).id }));
  });

  web.post<{ Params: { queue: string }; Querystring: { task?: string } }>('/q/:queue', {
    schema: { params: { type: 'object', properties: { queue: QUEUE } }, querystring: { type: 'object', additionalProperties: false, properties: { task: NAME } } },
  }, async (req, reply) => {
    const body = req.body as Record<string, unknown> | string | undefined;
    const task = req.query.task ?? (typeof body === 'object' && body && typeof body.task === 'string' ? body.task : undefined);
    if (!task) return reply.code(400).send({ error: `name the task that takes messages on ${req.params.queue}: POST /q/${req.params.queue}?task=<name>` });
    if (!TASK_NAME.test(task) || task.length > 200) return reply.code(400).send({ error: `not a task name: ${JSON.stringify(task.slice(0, 100))}` });
    const value = typeof body === 'object' && body && 'value' in body ? body.value : body;
    if (value === undefined || value === '') return reply.code(400).send({ error: 'no message: send value=<text> (form), a plain body or JSON' });
    return sending(reply, async () => reply.code(202).send({ id: (await app.send(task, [value], {}, { queue: req.params.queue })).id, queue: req.params.queue }));
  });
}
