/**
 * Live events as Server-Sent Events: `GET /api/events` (`?from=<stream id>` or the browser's
 * Last-Event-ID on a reconnect): every event after the cursor, then every new one, each with its
 * stream id as the SSE id, so a reconnecting page misses nothing. A comment every 15 s keeps proxies
 * from closing an idle stream.
 */
import type { FastifyInstance } from 'fastify';
import type { EventHub } from '../event-hub.js';

const STREAM_ID = /^\d{1,15}-\d{1,20}$/;

export function liveRoutes(web: FastifyInstance, hub: EventHub): void {
  web.get<{ Querystring: { from?: string; token?: string } }>('/api/events', {
    schema: { querystring: { type: 'object', properties: { from: { type: 'string', maxLength: 40 }, token: { type: 'string', maxLength: 200 } } } },
  }, async (req, reply) => {
    const last = req.headers['last-event-id'];
    const from = (typeof last === 'string' && last) || req.query.from || '$';
    if (from !== '$' && !STREAM_ID.test(from)) return reply.code(400).send({ error: `from / Last-Event-ID ${JSON.stringify(from.slice(0, 40))}: expected a stream id such as 1796050000000-0, or $ for new events only` });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    const aborted = new AbortController();
    const send = (e: { streamId: string; type: string; time: number; data: unknown }): void => {
      res.write(`${e.streamId.includes('-') ? `id: ${e.streamId}\n` : ''}event: ${e.type}\ndata: ${JSON.stringify({ type: e.type, time: e.time, data: e.data, id: e.streamId })}\n\n`);
    };
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    let unsubscribe: (() => void) | undefined;
    req.raw.on('close', () => {
      aborted.abort();
      clearInterval(keepAlive);
      unsubscribe?.();
    });
    unsubscribe = await hub.follow(from, send, aborted.signal);
    if (aborted.signal.aborted) unsubscribe();
  });
}
