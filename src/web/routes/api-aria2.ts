/**
 * aria2 through the server, yaaw-style, by an allow-list: the lists (active, waiting, stopped) and
 * global speed of every download node's aria2; pause / unpause / remove / pause all / start all /
 * purge finished; the global speed limit and concurrency; and adding a download — as a taskq job
 * (download.fetch), so it lands in the cache like any other. No other method and no other option
 * reaches aria2; the browser never sees its secret.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { App } from '../../core/app.js';
import type { Aria2Client } from '../../download/aria2-client.js';
import { resourceId } from '../../tasks/analyze/resource.js';
import type { Aria2Endpoint, Aria2Registry } from '../aria2-registry.js';

const KEYS = ['gid', 'status', 'totalLength', 'completedLength', 'downloadSpeed', 'connections', 'errorMessage', 'files', 'dir'];
const GIDS = { type: 'array', items: { type: 'string', pattern: '^[0-9a-f]{16}$' }, minItems: 1, maxItems: 1000 } as const;
const ACTIONS: Record<string, (c: Aria2Client, gids: string[]) => Promise<unknown>> = {
  pause: (c, gids) => c.multicall(gids.map((g) => ['aria2.forcePause', g])),
  unpause: (c, gids) => c.multicall(gids.map((g) => ['aria2.unpause', g])),
  remove: (c, gids) => c.multicall(gids.map((g) => ['aria2.forceRemove', g])),
  'pause-all': (c) => c.call('forcePauseAll'),
  'unpause-all': (c) => c.call('unpauseAll'),
  purge: (c) => c.call('purgeDownloadResult'),
};

function nameOf(uri: string | undefined): string | undefined {
  try {
    return uri ? decodeURIComponent(new URL(uri).pathname.split('/').pop() ?? '') || undefined : undefined;
  } catch {
    return undefined;
  }
}

/** One download as the page shows it (numbers as numbers, the file's name, no paths beyond it). */
function row(s: Record<string, unknown>) {
  const total = Number(s.totalLength);
  const done = Number(s.completedLength);
  const speed = Number(s.downloadSpeed);
  const files = (s.files as Array<{ path: string; uris: Array<{ uri: string }> }> | undefined) ?? [];
  return {
    gid: s.gid,
    status: s.status,
    // The name the origin gave it (the local file is named by the resource's hash).
    name: nameOf(files[0]?.uris[0]?.uri) || files[0]?.path.split('/').pop() || String(s.gid),
    uri: files[0]?.uris[0]?.uri,
    total,
    completed: done,
    speed,
    connections: Number(s.connections ?? 0),
    eta: speed > 0 && total > done ? Math.ceil((total - done) / speed) : null,
    ...(s.errorMessage ? { error: s.errorMessage } : {}),
  };
}

const NODE = { type: 'string', maxLength: 300 } as const;
const GID = { type: 'string', pattern: '^[0-9a-f]{16}$' } as const;
const SPEED = { type: 'string', pattern: '^\\d{1,12}[KM]?$' } as const;

/** One node's lists, speed and global options, or the error that kept them from the page. */
async function overview({ name, client }: Aria2Endpoint): Promise<Record<string, unknown>> {
  try {
    const [stat, active, waiting, stopped, options] = await client.multicall([
      ['aria2.getGlobalStat'],
      ['aria2.tellActive', KEYS],
      ['aria2.tellWaiting', 0, 1000, KEYS],
      ['aria2.tellStopped', 0, 1000, KEYS],
      ['aria2.getGlobalOption'],
    ]);
    const list = (x: unknown) => (Array.isArray(x) ? x.map((s) => row(s as Record<string, unknown>)) : []);
    const o = options as Record<string, string>;
    return { name, stat, active: list(active), waiting: list(waiting), stopped: list(stopped), options: { maxOverallDownloadLimit: o['max-overall-download-limit'], maxConcurrentDownloads: o['max-concurrent-downloads'] } };
  } catch (err) {
    return { name, error: (err as Error).message };
  }
}

/** One download in detail: its row, its files by name only (the node's folders are not the page's business), its options. */
async function detail(client: Aria2Client, gid: string): Promise<Record<string, unknown> | Error> {
  const [status, options] = await client.multicall([['aria2.tellStatus', gid, KEYS], ['aria2.getOption', gid]]);
  if (status instanceof Error) return status;
  const o = options instanceof Error ? {} : (options as Record<string, string>);
  const files = ((status as Record<string, unknown>).files as Array<{ length: string; completedLength: string; uris: Array<{ uri: string; status: string }> }> | undefined) ?? [];
  return { ...row(status as Record<string, unknown>), files: files.map((f, i) => ({ index: i + 1, length: Number(f.length), completed: Number(f.completedLength), uris: f.uris })), options: { maxDownloadLimit: o['max-download-limit'] ?? '0', split: o.split, maxConnectionPerServer: o['max-connection-per-server'] } };
}

/** The node's aria2, or a 404 sent (undefined then). */
function endpointOr404(registry: Aria2Registry, node: string, reply: FastifyReply): Aria2Endpoint | undefined {
  const endpoint = registry.find(node);
  if (!endpoint) void reply.code(404).send({ error: `no running aria2 for ${node}` });
  return endpoint;
}

export function aria2Routes(web: FastifyInstance, app: App, registry: Aria2Registry): void {
  readRoutes(web, registry);
  changeRoutes(web, registry);
  addRoute(web, app);
}

/** The lists of every node, and one download in detail. */
function readRoutes(web: FastifyInstance, registry: Aria2Registry): void {
  web.get('/api/aria2', async () => ({ nodes: await Promise.all(registry.endpoints().map(overview)) }));

  web.get<{ Params: { node: string; gid: string } }>('/api/aria2/:node/:gid', {
    schema: { params: { type: 'object', properties: { node: NODE, gid: GID } } },
  }, async (req, reply) => {
    const endpoint = endpointOr404(registry, req.params.node, reply);
    if (!endpoint) return reply;
    const found = await detail(endpoint.client, req.params.gid);
    return found instanceof Error ? reply.code(404).send({ error: found.message }) : found;
  });
}

/** The allow-listed actions and options. */
function changeRoutes(web: FastifyInstance, registry: Aria2Registry): void {
  web.post<{ Params: { node: string; action: string }; Body: { gids?: string[] } }>('/api/aria2/:node/:action', {
    schema: { params: { type: 'object', properties: { node: NODE, action: { type: 'string', enum: Object.keys(ACTIONS) } } }, body: { type: 'object', additionalProperties: false, properties: { gids: GIDS } } },
  }, async (req, reply) => {
    const endpoint = endpointOr404(registry, req.params.node, reply);
    if (!endpoint) return reply;
    const action = ACTIONS[req.params.action] as (typeof ACTIONS)[string];
    if (['pause', 'unpause', 'remove'].includes(req.params.action) && !req.body?.gids) return reply.code(400).send({ error: `${req.params.action} needs "gids": the downloads to ${req.params.action}` });
    return { done: req.params.action, result: await action(endpoint.client, req.body?.gids ?? []) };
  });

  web.post<{ Params: { node: string }; Body: { maxOverallDownloadLimit?: string; maxConcurrentDownloads?: number } }>('/api/aria2/:node/options', {
    schema: {
      params: { type: 'object', properties: { node: NODE } },
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { maxOverallDownloadLimit: SPEED, maxConcurrentDownloads: { type: 'integer', minimum: 1, maximum: 64 } } },
    },
  }, async (req, reply) => {
    const endpoint = endpointOr404(registry, req.params.node, reply);
    if (!endpoint) return reply;
    const o: Record<string, string> = {};
    if (req.body.maxOverallDownloadLimit !== undefined) o['max-overall-download-limit'] = req.body.maxOverallDownloadLimit;
    if (req.body.maxConcurrentDownloads !== undefined) o['max-concurrent-downloads'] = String(req.body.maxConcurrentDownloads);
    await endpoint.client.call('changeGlobalOption', o);
    return { changed: o };
  });

  web.post<{ Params: { node: string; gid: string }; Body: { maxDownloadLimit: string } }>('/api/aria2/:node/:gid/options', {
    schema: {
      params: { type: 'object', properties: { node: NODE, gid: GID } },
      body: { type: 'object', additionalProperties: false, required: ['maxDownloadLimit'], properties: { maxDownloadLimit: SPEED } },
    },
  }, async (req, reply) => {
    const endpoint = endpointOr404(registry, req.params.node, reply);
    if (!endpoint) return reply;
    await endpoint.client.call('changeOption', req.params.gid, { 'max-download-limit': req.body.maxDownloadLimit });
    return { changed: { gid: req.params.gid, 'max-download-limit': req.body.maxDownloadLimit } };
  });
}

/** Adding a download: a download.fetch job, so it is cached like any other. */
function addRoute(web: FastifyInstance, app: App): void {
  web.post<{ Body: { url: string } }>('/api/downloads', {
    schema: { body: { type: 'object', additionalProperties: false, required: ['url'], properties: { url: { type: 'string', maxLength: 8192, pattern: '^https?://' } } } },
  }, async (req, reply) => {
    const { url } = req.body;
    const kind = /\.m3u8(\?|$)/i.test(url) ? 'hls' : /\.mpd(\?|$)/i.test(url) ? 'dash' : 'progressive';
    const r = await app.send('download.fetch', [{ id: resourceId(url), url, kind, seenAt: Date.now() }], {}, { queue: 'q_download' });
    return reply.code(202).send({ id: r.id });
  });
}
