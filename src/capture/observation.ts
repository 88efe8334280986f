/**
 * What the capture stage sends to analyze (q_analyze), in batches: one observation per HTTP request
 * seen on the wire (with its response's head when that was visible too), per TLS ClientHello with a
 * server name, per CONNECT. The download stage consumes what analyze makes of them; this is the shape
 * both sides agree on.
 */

export interface ResponseHead {
  status: number;
  contentType?: string;
  contentLength?: number;
  /** `bytes a-b/total` as sent. */
  contentRange?: string;
}

export interface Observation {
  kind: 'http' | 'tls' | 'connect';
  /** When the request's head was complete (ms since the epoch, capture time). */
  ts: number;
  /** Client and server, `ip:port` (`[v6]:port`). */
  src: string;
  dst: string;
  /** The server's name: Host header, SNI, CONNECT target, or its address. */
  host: string;
  /** http: the request's absolute URL, normalised and bounded (see capture/url.ts). */
  url?: string;
  method?: string;
  /** http: a few request headers analyze uses (never cookies or credentials). */
  headers?: { range?: string; 'user-agent'?: string; referer?: string; accept?: string };
  response?: ResponseHead;
}
