/**
 * What analyze sends to download, as configuration: size bounds and host allow / deny lists (a host
 * matches itself and its subdomains). From the environment (TASKQ_ANALYZE_*), each value checked.
 */
import { ConfigError } from '../../errors.js';
import { DEFAULT_VOLATILE_PARAMS } from './resource.js';

export interface AnalyzePolicy {
  minBytes: number;
  maxBytes: number;
  allowHosts: string[];
  denyHosts: string[];
  volatileParams: string[];
}

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

function bytes(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d{1,15}$/.test(v)) throw new ConfigError('TASKQ_CONFIG_INVALID', `${name}=${JSON.stringify(v)}: expected a number of bytes`);
  return Number(v);
}

export function analyzePolicy(env: NodeJS.ProcessEnv = process.env): AnalyzePolicy {
  return {
    minBytes: bytes(env, 'TASKQ_ANALYZE_MIN_BYTES', 64 * 1024),
    maxBytes: bytes(env, 'TASKQ_ANALYZE_MAX_BYTES', 8 * 1024 ** 3),
    allowHosts: list(env.TASKQ_ANALYZE_ALLOW_HOSTS),
    denyHosts: list(env.TASKQ_ANALYZE_DENY_HOSTS),
    volatileParams: env.TASKQ_ANALYZE_VOLATILE_PARAMS === undefined ? [...DEFAULT_VOLATILE_PARAMS] : list(env.TASKQ_ANALYZE_VOLATILE_PARAMS),
  };
}

const matches = (host: string, rule: string): boolean => host === rule || host.endsWith(`.${rule}`);

/** Why a resource is not downloaded, or undefined if it may be. */
export function refusal(p: AnalyzePolicy, host: string, size: number | undefined): string | undefined {
  const h = host.toLowerCase();
  if (p.denyHosts.some((r) => matches(h, r))) return `host ${h} is denied`;
  if (p.allowHosts.length && !p.allowHosts.some((r) => matches(h, r))) return `host ${h} is not allowed`;
  if (size !== undefined && size < p.minBytes) return `${size} bytes is under the minimum ${p.minBytes}`;
  if (size !== undefined && size > p.maxBytes) return `${size} bytes is over the maximum ${p.maxBytes}`;
  return undefined;
}
