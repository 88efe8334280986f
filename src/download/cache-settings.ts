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
  return { dir: isAbsolute(dir) ? dir : join(cwd, dir), maxBytes, host: env.TASKQ_CACHE_HOST || defaults.cacheHost, port };
}
