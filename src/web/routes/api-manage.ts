/**
 * Managing the fleet, the schedule and the cache over HTTP: inspect and control nodes (the methods of
 * `taskq inspect` / `taskq control`, nothing else), beat entries (list, add, remove, enable, disable,
 * run now), cache entries (list, remove, thumbnails).
 */
import { createReadStream, existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { BeatEntries } from '../../beat/entries.js';
import type { App } from '../../core/app.js';
import type { BeatEntrySpec } from '../../core/beat-spec.js';
import { CONTROL_METHODS, INSPECT_METHODS, type ControlMethod, type InspectMethod } from '../../core/control-protocol.js';
import { CacheIndex } from '../../download/cache-index.js';
import { cacheSettings } from '../../download/cache-settings.js';
import { removeEntry } from '../../download/eviction.js';
import { cacheDirs, inside } from '../../download/store.js';
import { thumbsDir } from '../../download/thumbnail.js';
import { TaskqError } from '../../errors.js';

const NODES = { type: 'array', items: { type: 'string', maxLength: 300 }, maxItems: 100 } as const;
const ENTRY = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' } as const;
const CACHE_ID = { type: 'string', pattern: '^[0-9a-f]{32}$' } as const;

/** A TaskqError is the caller's mistake (400) unless it says Redis or a node is unavailable. */
function asReply(err: unknown): { status: number; body: { error: string } } {
  if (err instanceof TaskqError && err.exitCode !== 69) return { status: err.code === 'TASKQ_NO_REPLY' ? 504 : 400, body: { error: err.message } };
  throw err;
}

export function manageRoutes(web: FastifyInstance, app: App): void {
  remoteControlRoutes(web, app);
  beatRoutes(web, app);
  cacheRoutes(web, app);
}

/** `taskq inspect` and `taskq control` (revoke has its own route, with the task). */
function remoteControlRoutes(web: FastifyInstance, app: App): void {
  web.get<{ Params: { method: InspectMethod }; Querystring: { node?: string } }>('/api/inspect/:method', {
    schema: { params: { type: 'object', properties: { method: { type: 'string', enum: [...INSPECT_METHODS] } } }, querystring: { type: 'object', additionalProperties: false, properties: { node: { type: 'string', maxLength: 300 } } } },
  }, async (req) => app.control.inspect(req.params.method, { ...(req.query.node ? { destination: [req.query.node] } : {}), timeoutMs: 1500 }));

  web.post<{ Params: { method: ControlMethod }; Body: { args?: Record<string, unknown>; nodes?: string[] } }>('/api/control/:method', {
    schema: {
      params: { type: 'object', properties: { method: { type: 'string', enum: CONTROL_METHODS.filter((m) => m !== 'revoke') } } },
      body: { type: 'object', additionalProperties: false, properties: { args: { type: 'object', maxProperties: 10 }, nodes: NODES } },
    },
  }, async (req) => app.control.control(req.params.method, req.body?.args ?? {}, { ...(req.body?.nodes?.length ? { destination: req.body.nodes } : {}), timeoutMs: 1500 }));

}

/** The schedule's entries. */
function beatRoutes(web: FastifyInstance, app: App): void {
  const beat = new BeatEntries(app);
  web.get('/api/beat', async () => ({ entries: await beat.list() }));
  web.post<{ Body: { name: string; spec: BeatEntrySpec; replace?: boolean } }>('/api/beat', {
    schema: { body: { type: 'object', additionalProperties: false, required: ['name', 'spec'], properties: { name: ENTRY, spec: { type: 'object' }, replace: { type: 'boolean' } } } },
  }, async (req, reply) => {
    try {
      await beat.add(req.body.name, req.body.spec, { replace: req.body.replace ?? false });
      return reply.code(201).send({ added: req.body.name });
    } catch (err) {
      const r = asReply(err);
      return reply.code(r.status).send(r.body);
    }
  });
  web.post<{ Params: { name: string; action: 'enable' | 'disable' | 'run-now' | 'remove' } }>('/api/beat/:name/:action', {
    schema: { params: { type: 'object', properties: { name: ENTRY, action: { type: 'string', enum: ['enable', 'disable', 'run-now', 'remove'] } } } },
  }, async (req, reply) => {
    const { name, action } = req.params;
    try {
      if (action === 'run-now') return { sent: await beat.runNow(name) };
      if (action === 'remove') await beat.remove(name);
      else await beat.setDisabled(name, action === 'disable');
      return { [action === 'remove' ? 'removed' : `${action}d`]: name };
    } catch (err) {
      const r = asReply(err);
      return reply.code(r.status).send(r.body);
    }
  });

}

/** The cache's entries and their thumbnails. */
function cacheRoutes(web: FastifyInstance, app: App): void {
  const cache = async () => new CacheIndex(await app.client(), app.keys.prefix);
  web.get<{ Querystring: { limit: number } }>('/api/cache', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } } } },
  }, async (req) => {
    const index = await cache();
    const settings = cacheSettings();
    return { entries: await index.list({ limit: req.query.limit }), count: await index.count(), bytes: await index.totalBytes(), maxBytes: settings.maxBytes, server: `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}` };
  });
  web.post<{ Params: { id: string } }>('/api/cache/:id/remove', { schema: { params: { type: 'object', properties: { id: CACHE_ID } } } }, async (req, reply) => {
    const index = await cache();
    const entry = await index.get(req.params.id);
    if (!entry || !(await removeEntry(index, cacheDirs(cacheSettings().dir).store, entry))) return reply.code(404).send({ error: `not cached: ${req.params.id}` });
    return { removed: entry.id, url: entry.url };
  });
  web.get<{ Params: { id: string } }>('/api/cache/:id/thumbnail.jpg', { schema: { params: { type: 'object', properties: { id: CACHE_ID } } } }, async (req, reply) => {
    const file = inside(thumbsDir(cacheSettings().dir), `${req.params.id}.jpg`);
    if (!existsSync(file)) return reply.code(404).send({ error: `no thumbnail for ${req.params.id}` });
    return reply.type('image/jpeg').header('cache-control', 'max-age=3600').send(createReadStream(file));
  });
}
