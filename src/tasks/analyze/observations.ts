/**
 * `analyze.observations` (q_analyze): a batch of what the capture saw. Each progressive video becomes
 * one `download.fetch` job on q_download, however many Range requests hit it: its job id is
 * `dl:<resource id>`, so sending it again while it waits is a no-op. Until the download stage lands
 * the jobs wait in q_download. A playlist is fetched and parsed: a media playlist (HLS) or each
 * Representation of a manifest (DASH) is one resource with its parts in order; segments requested on
 * their own are not downloaded blindly (their playlist covers them). Requests that are not video, or
 * that the policy refuses, are counted.
 */
import type { App } from '../../core/app.js';
import type { Observation } from '../../capture/observation.js';
import { analyzePolicy, refusal } from './policy.js';
import { classify, resourceId, resourceSize, resourceUrl, type ResourceKind } from './resource.js';
import { fetchText, probeSize } from './fetch-text.js';
import { parseHls } from './hls.js';
import { parseDash } from './dash.js';
import { isOwnTraffic } from '../own-traffic.js';

/** What `download.fetch` gets: the resource to fetch once. */
export interface DownloadRequest {
  id: string;
  /** The file (progressive), the media playlist (hls) or the manifest (dash). */
  url: string;
  kind: ResourceKind;
  size?: number;
  contentType?: string;
  /** The page that asked for it, when the request said (never cookies or credentials). */
  referer?: string;
  seenAt: number;
  /** hls / dash: the parts, in order (a byte range of a file when the playlist said so). */
  parts?: Array<{ url: string; byteRange?: { length: number; offset: number } }>;
  /** hls: the init segment and key URIs; live playlists grow (download keeps polling them). */
  init?: { url: string; byteRange?: { length: number; offset: number } };
  keys?: string[];
  live?: boolean;
  /** dash: which Representation. */
  representation?: string;
}

export interface AnalyzeSummary {
  seen: number;
  /** Requests taskq itself made (analyze's probes, downloads), seen by the capture: skipped. */
  own: number;
  /** Downloads sent (one already waiting for the same resource is kept, not doubled). */
  enqueued: number;
  /** Requests for a resource already sent from this batch. */
  duplicates: number;
  refused: Array<{ url: string; why: string }>;
  byKind: Record<ResourceKind, number>;
}

/**
 * A playlist's downloads: a media playlist is one resource (its segments in order); a master playlist
 * none (the player asks for the variant it plays, and that request is seen in turn); a manifest one
 * per Representation. A playlist that cannot be fetched or parsed is counted as refused.
 */
async function playlistRequests(o: Observation, kind: 'hls' | 'dash', volatile: string[], summary: AnalyzeSummary): Promise<DownloadRequest[]> {
  const url = resourceUrl(o.url as string, volatile);
  let text: string;
  try {
    text = await fetchText(o.url as string, o.headers?.referer ? { referer: o.headers.referer } : {});
  } catch (err) {
    summary.refused.push({ url, why: `playlist not fetched: ${(err as Error).message}` });
    return [];
  }
  const base = { kind, seenAt: o.ts, ...(o.headers?.referer ? { referer: o.headers.referer } : {}) };
  try {
    if (kind === 'hls') {
      const p = parseHls(text, o.url as string);
      if (p.kind === 'master') return [];
      return [{ ...base, id: resourceId(url), url, parts: p.segments.map((s) => ({ url: s.url, ...(s.byteRange ? { byteRange: s.byteRange } : {}) })), ...(p.init ? { init: p.init } : {}), keys: p.keys, live: p.live }];
    }
    return parseDash(text, o.url as string).map((r) => ({
      ...base,
      id: resourceId(`${url}#${r.id}`),
      url,
      representation: r.id,
      parts: r.file ? [{ url: r.file }] : r.segments.map((s) => ({ url: s })),
      ...(r.init ? { init: { url: r.init } } : {}),
    }));
  } catch (err) {
    summary.refused.push({ url, why: (err as Error).message });
    return [];
  }
}

export function registerAnalyze(app: App): void {
  app.task('analyze.observations', async (batch: Observation[]): Promise<AnalyzeSummary> => {
    const policy = analyzePolicy();
    const summary: AnalyzeSummary = { seen: 0, own: 0, enqueued: 0, duplicates: 0, refused: [], byKind: { progressive: 0, hls: 0, dash: 0, segment: 0, none: 0 } };
    const sent = new Set<string>();
    for (const o of Array.isArray(batch) ? batch : []) {
      if (o?.kind !== 'http' || typeof o.url !== 'string') continue;
      if (isOwnTraffic(o.headers?.['user-agent'])) {
        summary.own++;
        continue;
      }
      summary.seen++;
      const kind = classify(o);
      summary.byKind[kind]++;
      if (kind === 'hls' || kind === 'dash') {
        for (const r of await playlistRequests(o, kind, policy.volatileParams, summary)) {
          if (sent.has(r.id)) continue;
          sent.add(r.id);
          await app.send('download.fetch', [r], {}, { jobId: `dl:${r.id}`, queue: 'q_download' });
          summary.enqueued++;
        }
        continue;
      }
      if (kind !== 'progressive') continue;
      const url = resourceUrl(o.url, policy.volatileParams);
      // Not told by a response seen on the wire: ask the server (HEAD, with a timeout).
      const size = resourceSize(o) ?? (await probeSize(o.url, o.headers?.referer ? { referer: o.headers.referer } : {}));
      const why = refusal(policy, o.host, size);
      if (why) {
        summary.refused.push({ url, why });
        continue;
      }
      const id = resourceId(url);
      if (sent.has(id)) {
        summary.duplicates++;
        continue;
      }
      sent.add(id);
      const request: DownloadRequest = { id, url, kind, seenAt: o.ts, ...(size !== undefined ? { size } : {}), ...(o.response?.contentType ? { contentType: o.response.contentType } : {}), ...(o.headers?.referer ? { referer: o.headers.referer } : {}) };
      // A job with this id already waiting is left as it is: one download per resource.
      await app.send('download.fetch', [request], {}, { jobId: `dl:${id}`, queue: 'q_download' });
      summary.enqueued++;
    }
    return summary;
  });
}
