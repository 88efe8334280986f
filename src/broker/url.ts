/**
 * Broker URLs → ioredis connection options (pure).
 *
 *   redis://[[user]:password@]host[:port][/db]       plain TCP (default port 6379, db 0)
 *   rediss://…                                        the same over TLS
 *   unix:///path/to/redis.sock[?db=N&password=P]     Unix socket (also `redis+socket://`)
 *
 * Passwords never appear in `display`, which is what logs and error messages show.
 */
import { isIP } from 'node:net';
import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../errors.js';

export interface BrokerTarget {
  /** Options for `new Redis(options)`; connection-level only. */
  options: RedisOptions;
  /** The URL with its password masked, for messages. */
  display: string;
}

function invalid(url: string, why: string): ConfigError {
  return new ConfigError(
    'TASKQ_BROKER_URL_INVALID',
    `invalid broker URL "${maskPassword(url)}": ${why}. ` +
      'Expected redis://[:password@]host[:port][/db], rediss://…, or unix:///path/to/redis.sock[?db=N].',
  );
}

function parseDb(url: string, raw: string | null | undefined): number {
  if (raw === null || raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw invalid(url, `database "${raw}" is not a non-negative integer`);
  return Number(raw);
}

/**
 * Replaces the password of a URL with `***`. Works on text that does not parse as a URL too: all
 * between `user:` and the last `@` of the authority is masked (passwords may contain `@` and `/`).
 */
export function maskPassword(url: string): string {
  const masked = url.replace(/([?&]password=)[^&#]*/i, '$1***');
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@]*)@/i.exec(masked);
  if (!m) return masked;
  const auth = masked.slice(m[1]!.length, masked.lastIndexOf('@', masked.search(/[?#]|$/)));
  const colon = auth.indexOf(':');
  if (colon < 0) return masked;
  return `${m[1]}${auth.slice(0, colon)}:***${masked.slice(m[1]!.length + auth.length)}`;
}

/** Parses a broker URL; throws a ConfigError (exit 78) naming the problem. */
export function parseBrokerUrl(url: string): BrokerTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw Object.assign(invalid(url, 'not a URL'), { cause });
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  const password = parsed.password ? decodeURIComponent(parsed.password) : parsed.searchParams.get('password');
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const auth: RedisOptions = {};
  if (password) auth.password = password;
  if (username) auth.username = username;

  if (scheme === 'unix' || scheme === 'redis+socket') {
    const path = decodeURIComponent(parsed.pathname);
    if (!path || path === '/') throw invalid(url, 'no socket path');
    const db = parseDb(url, parsed.searchParams.get('db'));
    return { options: { path, db, ...auth }, display: maskPassword(url) };
  }
  if (scheme !== 'redis' && scheme !== 'rediss') throw invalid(url, `unsupported scheme "${scheme}"`);
  if (!parsed.hostname) throw invalid(url, 'no host');
  const port = parsed.port ? Number(parsed.port) : 6379;
  const dbPart = parsed.pathname.replace(/^\//, '');
  const db = parseDb(url, dbPart || parsed.searchParams.get('db'));
  // URL keeps the brackets of IPv6 literals; sockets want them off.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const options: RedisOptions = { host, port, db, ...auth };
  // SNI takes host names only; an IP literal there makes Node warn (DEP0123).
  if (scheme === 'rediss') options.tls = isIP(host) ? {} : { servername: host };
  return { options, display: maskPassword(url) };
}
