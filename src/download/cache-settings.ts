/**
 * The cache's settings, from the environment (the flagship app has no options object of its own):
 * TASKQ_CACHE_DIR, TASKQ_CACHE_MAX_BYTES (bytes, or with K/M/G/T), TASKQ_CACHE_HOST, TASKQ_CACHE_PORT.
 * Defaults come from defaults.ts; a bad value fails naming the variable and what it expected.
 */
import { isAbsolute, join } from 'node:path';
import { defaults } from '../defaults.js';
import { ConfigError } from '../errors.js';

export interface CacheSettings {
  dir: string;
  maxBytes: number;
  host: string;
  port: number;
  /** A download's lease on its resource (ms). */
  leaseMs: number;
  /** A configured aria2 (TASKQ_ARIA2_URL + TASKQ_ARIA2_SECRET) instead of the node's own aria2c. */
  aria2?: { host: string; port: number; secret: string };
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** '500M', '10G', '1048576' → bytes. */
export function parseSize(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(raw);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] as string).toLowerCase()] as number));
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

export function cacheSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): CacheSettings {
  const dir = env.TASKQ_CACHE_DIR || defaults.cacheDir;
  let maxBytes: number = defaults.cacheMaxBytes;
  if (env.TASKQ_CACHE_MAX_BYTES) {
    const parsed = parseSize(env.TASKQ_CACHE_MAX_BYTES);
    if (parsed === undefined) throw new ConfigError('TASKQ_CONFIG_INVALID', `TASKQ_CACHE_MAX_BYTES=${JSON.stringify(env.TASKQ_CACHE_MAX_BYTES)}: expected a size in bytes, or with K, M, G or T (e.g. 500M, 10G)`);
    maxBytes = parsed;
  }
  let port: number = defaults.cachePort;
  if (env.TASKQ_CACHE_PORT) {
    port = Number(env.TASKQ_CACHE_PORT);
    if (!/^\d+$/.test(env.TASKQ_CACHE_PORT) || port > 65535) throw new ConfigError('TASKQ_CONFIG_INVALID', `TASKQ_CACHE_PORT=${JSON.stringify(env.TASKQ_CACHE_PORT)}: expected a TCP port, 0 to 65535 (0: any free port)`);
  }
  let leaseMs: number = defaults.downloadLeaseMs;
  if (env.TASKQ_DOWNLOAD_LEASE_MS) {
    leaseMs = Number(env.TASKQ_DOWNLOAD_LEASE_MS);
    if (!/^\d+$/.test(env.TASKQ_DOWNLOAD_LEASE_MS) || leaseMs < 1000) throw new ConfigError('TASKQ_CONFIG_INVALID', `TASKQ_DOWNLOAD_LEASE_MS=${JSON.stringify(env.TASKQ_DOWNLOAD_LEASE_MS)}: expected ms, at least 1000`);
  }
  return { dir: isAbsolute(dir) ? dir : join(cwd, dir), maxBytes, host: env.TASKQ_CACHE_HOST || defaults.cacheHost, port, leaseMs, ...(env.TASKQ_ARIA2_URL ? { aria2: aria2Setting(env) } : {}) };
}

function aria2Setting(env: NodeJS.ProcessEnv): { host: string; port: number; secret: string } {
  const raw = env.TASKQ_ARIA2_URL as string;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('TASKQ_CONFIG_INVALID', `TASKQ_ARIA2_URL=${JSON.stringify(raw)}: not a URL; expected e.g. http://127.0.0.1:6800/jsonrpc`);
  }
  if (!['http:', 'ws:'].includes(url.protocol) || url.pathname !== '/jsonrpc') throw new ConfigError('TASKQ_CONFIG_INVALID', `TASKQ_ARIA2_URL=${JSON.stringify(raw)}: expected http://<host>:<port>/jsonrpc (or ws://)`);
  // aria2's RPC without a secret lets anyone who reaches it write any file as its user.
  if (!env.TASKQ_ARIA2_SECRET) throw new ConfigError('TASKQ_CONFIG_INVALID', 'TASKQ_ARIA2_URL is set but TASKQ_ARIA2_SECRET is not: taskq only talks to an aria2 that has --rpc-secret; set TASKQ_ARIA2_SECRET to it');
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80), secret: env.TASKQ_ARIA2_SECRET };
}
