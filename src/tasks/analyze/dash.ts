/**
 * DASH manifests (MPD), pure: each Representation's segments — SegmentTemplate with `$Number$` (from
 * startNumber, for the presentation's duration) or `$Time$` (from a SegmentTimeline, `r` repeats
 * included), its initialization segment, `$RepresentationID$` and `$Bandwidth$` (with `%0Nd` widths)
 * — or, with SegmentBase, the one file that holds them all (fetched whole). BaseURLs resolve level by
 * level (MPD, Period, AdaptationSet, Representation). Bounded: at most `maxSegments` per
 * Representation. Parsed with fast-xml-parser.
 */
import { XMLParser } from 'fast-xml-parser';
import { PlaylistError } from './hls.js';

export interface DashRepresentation {
  id: string;
  bandwidth?: number;
  mimeType?: string;
  /** SegmentBase (or a lone BaseURL): the single file. */
  file?: string;
  init?: string;
  segments: string[];
  truncated: boolean;
}

type Node = Record<string, unknown>;
const arr = (v: unknown): Node[] => (v === undefined ? [] : Array.isArray(v) ? (v as Node[]) : [v as Node]);
const attr = (n: Node | undefined, name: string): string | undefined => (n?.[`@_${name}`] === undefined ? undefined : String(n[`@_${name}`]));
const baseOf = (n: Node | undefined, base: string): string => {
  const b = n?.BaseURL;
  const text = typeof b === 'string' ? b : Array.isArray(b) ? String((b[0] as Node)?.['#text'] ?? b[0]) : b && typeof b === 'object' ? String((b as Node)['#text'] ?? '') : '';
  return text.trim() ? new URL(text.trim(), base).toString() : base;
};

/** ISO 8601 durations as MPDs write them: PT1H2M3.5S, P1DT2H. */
export function isoDurationS(text: string | undefined): number | undefined {
  const m = text ? /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(text) : null;
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

function fill(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\$(RepresentationID|Number|Time|Bandwidth)(?:%0(\d+)d)?\$|\$\$/g, (whole, name: string | undefined, width: string | undefined) => {
    if (!name) return '$';
    const v = String(vars[name] ?? '');
    return width ? v.padStart(Number(width), '0') : v;
  });
}

function templateSegments(t: Node, rep: { id: string; bandwidth?: number }, base: string, durationS: number | undefined, max: number): { init?: string; segments: string[]; truncated: boolean } {
  const media = attr(t, 'media');
  const vars = { RepresentationID: rep.id, Bandwidth: rep.bandwidth ?? '' };
  const initT = attr(t, 'initialization');
  const init = initT ? new URL(fill(initT, vars), base).toString() : undefined;
  const segments: string[] = [];
  let truncated = false;
  const add = (v: Record<string, number>): boolean => {
    if (segments.length >= max) return !(truncated = true);
    segments.push(new URL(fill(media as string, { ...vars, ...v }), base).toString());
    return true;
  };
  if (media) {
    const start = Number(attr(t, 'startNumber') ?? 1);
    const timeline = arr((t.SegmentTimeline as Node | undefined)?.S);
    if (timeline.length) {
      let time = 0;
      let n = start;
      for (const s of timeline) {
        if (attr(s, 't') !== undefined) time = Number(attr(s, 't'));
        const d = Number(attr(s, 'd') ?? 0);
        for (let r = Number(attr(s, 'r') ?? 0); r >= 0 && d > 0; r--, time += d, n++) if (!add({ Time: time, Number: n })) return { ...(init ? { init } : {}), segments, truncated };
      }
    } else {
      const timescale = Number(attr(t, 'timescale') ?? 1);
      const d = Number(attr(t, 'duration') ?? 0) / timescale;
      const count = d > 0 && durationS ? Math.ceil(durationS / d - 1e-9) : 0;
      for (let i = 0; i < count; i++) if (!add({ Number: start + i, Time: Math.round(i * d * timescale) })) break;
    }
  }
  return { ...(init ? { init } : {}), segments, truncated };
}

export function parseDash(xml: string, url: string, maxSegments = 20_000): DashRepresentation[] {
  let doc: Node;
  try {
    doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', removeNSPrefix: true }).parse(xml) as Node;
  } catch (err) {
    throw new PlaylistError(`not an MPD: ${(err as Error).message}`);
  }
  const mpd = doc.MPD as Node | undefined;
  if (!mpd) throw new PlaylistError('not an MPD (no <MPD> element)');
  const durationS = isoDurationS(attr(mpd, 'mediaPresentationDuration'));
  const out: DashRepresentation[] = [];
  const mpdBase = baseOf(mpd, url);
  for (const period of arr(mpd.Period)) {
    const pBase = baseOf(period, mpdBase);
    const pDuration = isoDurationS(attr(period, 'duration')) ?? durationS;
    for (const set of arr(period.AdaptationSet)) {
      const sBase = baseOf(set, pBase);
      for (const rep of arr(set.Representation)) {
        const id = attr(rep, 'id') ?? String(out.length);
        const bandwidth = attr(rep, 'bandwidth') === undefined ? undefined : Number(attr(rep, 'bandwidth'));
        const mimeType = attr(rep, 'mimeType') ?? attr(set, 'mimeType');
        const rBase = baseOf(rep, sBase);
        const template = (rep.SegmentTemplate ?? set.SegmentTemplate) as Node | undefined;
        const info = { id, ...(bandwidth !== undefined ? { bandwidth } : {}), ...(mimeType ? { mimeType } : {}) };
        if (template) out.push({ ...info, ...templateSegments(template, { id, ...(bandwidth !== undefined ? { bandwidth } : {}) }, rBase, pDuration, maxSegments) });
        else out.push({ ...info, file: rBase, segments: [], truncated: false });
      }
    }
  }
  return out;
}
