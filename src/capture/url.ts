/**
 * The absolute URL of a request seen on the wire, normalised and bounded before anyone uses it: the
 * target's absolute form, or Host (or, for HTTP/1.0 without Host, the server's address and port) plus
 * the origin-form path. Only http and https; at most `maxLength` characters; bytes outside printable
 * ASCII percent-encoded; dot segments resolved; host lower-cased, default port and fragment dropped.
 * A request it cannot make a URL of gets a reason instead (counted by the caller, never guessed).
 */
import type { RequestHead } from './http1-parser.js';

export const MAX_URL_LENGTH = 8192;

const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._~-]{1,253})(?::\d{1,5})?$/;

/** Percent-encodes every byte outside printable ASCII (the target arrived as bytes, read as latin1). */
function encodeBytes(latin1: string): string {
  return latin1.replace(/[^\x21-\x7e]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export type UrlResult = { url: string; host: string } | { problem: string };

/**
 * `server` is the destination address and port as captured (`10.0.0.1`, `::1`), used when the request
 * names no host.
 */
export function requestUrl(head: RequestHead, server: { address: string; port: number }, maxLength = MAX_URL_LENGTH): UrlResult {
  if (head.target.length > maxLength) return { problem: `target longer than ${maxLength} characters` };
  let raw: string;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(head.target)) {
    if (!/^https?:\/\//i.test(head.target)) return { problem: `scheme ${head.target.split(':')[0]} is not http or https` };
    raw = head.target;
  } else if (head.target.startsWith('/')) {
    const host = (head.headers.host ?? '').trim();
    let authority: string;
    if (host) {
      if (!HOST.test(host)) return { problem: 'Host header is not a host name or address' };
      authority = host;
    } else {
      const addr = server.address.includes(':') ? `[${server.address}]` : server.address;
      authority = server.port === 80 ? addr : `${addr}:${server.port}`;
    }
    raw = `http://${authority}${head.target}`;
  } else return { problem: head.target === '*' ? 'asterisk-form (OPTIONS *)' : 'neither origin-form nor absolute-form' };
  let url: URL;
  try {
    url = new URL(encodeBytes(raw));
  } catch {
    return { problem: 'not a valid URL' };
  }
  url.hash = '';
  const text = url.toString();
  if (text.length > maxLength) return { problem: `URL longer than ${maxLength} characters` };
  return { url: text, host: url.hostname.replace(/^\[|\]$/g, '') };
}
