/**
 * Live events as Server-Sent Events: `GET /api/events` (`?from=<stream id>` or the browser's
 * Last-Event-ID on a reconnect): every event after the cursor, then every new one, each with its
 * stream id as the SSE id, so a reconnecting page misses nothing. A comment every 15 s keeps proxies
 * from closing an idle stream. Bounded: a client that does not read (8 MiB waiting) is dropped, at most
 * 200 streams at once, and a catch-up longer than 100,000 events ends the response — the browser
 * reconnects with Last-Event-ID and goes on from there.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventHub } from '../event-hub.js';

/** `<ms>-<seq>`, as Redis accepts them: the sequence at most 2^64 − 1. */
function isStreamId(text: string): boolean {
  const m = /^\d{1,15}-(\d{1,20})$/.exec(text);
  return m !== null && BigInt(m[1] as string) <= 18446744073709551615n;
}
const MAX_STREAMS = 200;
const MAX_BUFFERED = 8 * 1024 * 1024;
const MAX_CATCH_UP = 100_000;

/** The SSE id and frame of one event. */
function frame(e: { streamId: string; type: string; time: number; data: unknown }): string {
  return `${e.streamId.includes('-') ? `id: ${e.streamId}\n` : ''}event: ${e.type}\ndata: ${JSON.stringify({ type: e.type, time: e.time, data: e.data, id: e.streamId })}\n\n`;
}

/** Streams every event after `from` to `res` until the client goes, lags too far, or a catch-up ends it. */
async function stream(hub: EventHub, from: string, req: FastifyRequest, res: ServerResponse, open: Set<ServerResponse>): Promise<void> {
  open.add(res);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write('retry: 2000\n\n');
  const aborted = new AbortController();
  let unsubscribe: (() => void) | undefined;
  const end = (): void => {
    if (aborted.signal.aborted) return;
    aborted.abort();
    clearInterval(keepAlive);
    unsubscribe?.();
    open.delete(res);
    res.end();
  };
  const send = (e: { streamId: string; type: string; time: number; data: unknown }): void => {
    if (aborted.signal.aborted) return;
    // A client that does not read is dropped, not buffered for without end.
    if (res.writableLength > MAX_BUFFERED) return end();
    res.write(frame(e));
  };
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.raw.on('close', end);
  try {
    const following = await hub.follow(from, send, aborted.signal, MAX_CATCH_UP);
    unsubscribe = following.unsubscribe;
    // Caught up only partly: end here; the browser reconnects with Last-Event-ID for the rest.
    if (!following.complete) end();
    if (aborted.signal.aborted) unsubscribe();
  } catch (err) {
    res.write(`event: error\ndata: ${JSON.stringify({ error: (err as Error).message })}\n\n`);
    end();
  }
}

export function liveRoutes(web: FastifyInstance, hub: EventHub): { closeAll(): void } {
  const open = new Set<ServerResponse>();
  web.get<{ Querystring: { from?: string; token?: string } }>('/api/events', {
    exposeHeadRoute: false,
    schema: { querystring: { type: 'object', properties: { from: { type: 'string', maxLength: 40 }, token: { type: 'string', maxLength: 200 } } } },
  }, async (req, reply) => {
    const last = req.headers['last-event-id'];
    const given = (typeof last === 'string' && last) || req.query.from || '$';
    // `0`, as `taskq events --from 0`: the whole stream.
    const from = given === '0' ? '0-0' : given;
    if (from !== '$' && !isStreamId(from)) return reply.code(400).send({ error: `from / Last-Event-ID ${JSON.stringify(from.slice(0, 40))}: expected a stream id such as 1796050000000-0, 0 for the whole stream, or $ for new events only` });
    if (open.size >= MAX_STREAMS) return reply.code(503).header('retry-after', '5').send({ error: `${MAX_STREAMS} live streams are open already; try again later` });
    reply.hijack();
    await stream(hub, from, req, reply.raw, open);
  });
  // HEAD: the headers a GET would start with, and no stream.
  web.head('/api/events', async (_req, reply) => reply.code(200).header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-store').send());
  return {
    closeAll: () => {
      for (const res of open) res.end();
      open.clear();
    },
  };
}
