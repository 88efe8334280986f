/**
 * Who may do what: reads of a loopback UI are open; a UI bound elsewhere needs the token for every
 * API call; changes (anything but GET/HEAD) always need it, are refused in read-only mode, and are
 * refused from another origin (the token travels in a header a browser never adds by itself, and an
 * Origin that is not this server's is refused as well: no cross-site request can change anything).
 * The page, its assets and /healthz are public: they hold no data. A loopback UI answers only to a
 * Host naming this machine (a page on another name reaching it is DNS rebinding).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback, type UiSettings } from './ui-settings.js';

function tokenOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  // EventSource and <img> cannot set headers: the live stream and thumbnails take it as a query parameter.
  if (req.method === 'GET' && (req.routeOptions.url === '/api/events' || req.routeOptions.url === '/api/cache/:id/thumbnail.jpg')) return (req.query as { token?: string }).token;
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** What anyone may fetch: the page and its assets (no data in them), and the health probe. */
const PUBLIC = new Set(['/', '/app.js', '/app.css', '/healthz']);

/** A Host naming this machine: a page on another name reaching a loopback UI is DNS rebinding. */
const LOCAL_HOST = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(?::\d{1,5})?$/i;

export function guard(settings: UiSettings): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const open = isLoopback(settings.host);
  return async (req, reply) => {
    // Decided on the route fastify matched (it decodes %61 to a), never on the raw path.
    const route = req.routeOptions.url;
    const change = req.method !== 'GET' && req.method !== 'HEAD';
    const host = req.headers.host ?? '';
    if (open && !LOCAL_HOST.test(host)) return void reply.code(421).send({ error: `this UI answers to 127.0.0.1 and localhost, not ${JSON.stringify(host.slice(0, 100))}` });
    if (!change && route !== undefined && PUBLIC.has(route)) return;
    if (change && settings.readOnly) return void reply.code(403).send({ error: 'the UI is read-only (started with --read-only or TASKQ_UI_READ_ONLY): it changes nothing' });
    const origin = req.headers.origin;
    // Same origin over http, or https behind a reverse proxy.
    if (change && origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) return void reply.code(403).send({ error: `a change from another origin (${origin.slice(0, 100)}) is refused` });
    if (!change && open) return;
    const token = tokenOf(req);
    if (!token || !same(token, settings.token)) {
      return void reply.code(401).header('www-authenticate', 'Bearer').send({ error: change ? 'changes need the UI token: Authorization: Bearer <token> (taskq ui prints the URL with it)' : 'this UI needs its token: Authorization: Bearer <token>' });
    }
  };
}
