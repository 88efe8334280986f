/**
 * The flagship's own HTTP requests say who they are in their User-Agent, so analyze can tell them
 * from the traffic it watches: the capture sees them too (on `lo`, or on the interface a node
 * downloads through), and analyzing them again would probe and fetch in a loop.
 */

/** analyze's probes and playlist fetches. */
export const ANALYZE_AGENT = 'taskq-analyze';
/** Downloads (aria2, and the node downloader). */
export const DOWNLOAD_AGENT = 'taskq-download';

/** Whether a request seen on the wire was made by taskq itself. */
export function isOwnTraffic(userAgent: string | undefined): boolean {
  return userAgent === ANALYZE_AGENT || userAgent === DOWNLOAD_AGENT;
}
