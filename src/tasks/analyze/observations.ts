/**
 * `analyze.observations` (q_analyze): a batch of what the capture saw. Each progressive video becomes
 * one `download.fetch` job on q_download, however many Range requests hit it: its job id is
 * `dl:<resource id>`, so sending it again while it waits is a no-op. Until the download stage lands
 * the jobs wait in q_download. Playlists (HLS, DASH) and their segments are counted, not downloaded
 * blindly (their parsing comes next); requests that are not video, or that the policy refuses, are
 * counted too.
 */
import type { App } from '../../core/app.js';
import type { Observation } from '../../capture/observation.js';
import { analyzePolicy, refusal } from './policy.js';
import { classify, resourceId, resourceSize, resourceUrl, type ResourceKind } from './resource.js';

/** What `download.fetch` gets: the resource to fetch once. */
export interface DownloadRequest {
  id: string;
  url: string;
  kind: ResourceKind;
  size?: number;
  contentType?: string;
  /** The page that asked for it, when the request said (never cookies or credentials). */
  referer?: string;
  seenAt: number;
}

export interface AnalyzeSummary {
  seen: number;
  /** Downloads sent (one already waiting for the same resource is kept, not doubled). */
  enqueued: number;
  /** Requests for a resource already sent from this batch. */
  duplicates: number;
  refused: Array<{ url: string; why: string }>;
  byKind: Record<ResourceKind, number>;
}

export function registerAnalyze(app: App): void {
  app.task('analyze.observations', async (batch: Observation[]): Promise<AnalyzeSummary> => {
    const policy = analyzePolicy();
    const summary: AnalyzeSummary = { seen: 0, enqueued: 0, duplicates: 0, refused: [], byKind: { progressive: 0, hls: 0, dash: 0, segment: 0, none: 0 } };
    const sent = new Set<string>();
    for (const o of Array.isArray(batch) ? batch : []) {
      if (o?.kind !== 'http' || typeof o.url !== 'string') continue;
      summary.seen++;
      const kind = classify(o);
      summary.byKind[kind]++;
      if (kind !== 'progressive') continue;
      const url = resourceUrl(o.url, policy.volatileParams);
      const size = resourceSize(o);
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
      await app.send('download.fetch', [request], { jobId: `dl:${id}`, queue: 'q_download' });
      summary.enqueued++;
    }
    return summary;
  });
}
