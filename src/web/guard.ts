/**
 * Who may do what: reads of a loopback UI are open; a UI bound elsewhere needs the token for every
 * API call; changes (anything but GET/HEAD) always need it, are refused in read-only mode, and are
 * refused from another origin (the token travels in a header a browser never adds by itself, and an
 * Origin that is not this server's is refused as well: no cross-site request can change anything).
 * The page, its assets and /healthz are public: they hold no data.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback, type UiSettings } from './ui-settings.js';

function tokenOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  // EventSource and <img> cannot set headers: the live stream and thumbnails take it as a query parameter.
  if (req.method === 'GET' && (req.url.startsWith('/api/events') || /^\/api\/cache\/[0-9a-f]{32}\/thumbnail\.jpg/.test(req.url))) return (req.query as { token?: string }).token;
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function guard(settings: UiSettings): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const open = isLoopback(settings.host);
  return async (req, reply) => {
    const path = req.url.split('?')[0] as string;
    const api = path.startsWith('/api/') || path.startsWith('/q/') || path === '/metrics';
    const change = req.method !== 'GET' && req.method !== 'HEAD';
    if (!api && !change) return;
    if (change && settings.readOnly) return void reply.code(403).send({ error: 'the UI is read-only (started with --read-only or TASKQ_UI_READ_ONLY): it changes nothing' });
    const origin = req.headers.origin;
    if (change && origin !== undefined && origin !== `http://${req.headers.host}`) return void reply.code(403).send({ error: `a change from another origin (${origin.slice(0, 100)}) is refused` });
    if (!change && open) return;
    const token = tokenOf(req);
    if (!token || !same(token, settings.token)) {
      return void reply.code(401).header('www-authenticate', 'Bearer').send({ error: change ? 'changes need the UI token: Authorization: Bearer <token> (taskq ui prints the URL with it)' : 'this UI needs its token: Authorization: Bearer <token>' });
    }
  };
}
