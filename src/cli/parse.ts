/** Option parsers for commander: each rejects a bad value with a message naming the option. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { QUEUE_NAME_PATTERN } from '../broker/keys.js';
import { defaults } from '../defaults.js';

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return Number(value);
}

/** -c: from 1 to the most slots a node may have. */
export function concurrency(value: string): number {
  const n = positiveInt(value);
  if (n > defaults.maxConcurrency) throw new InvalidArgumentError(`expected at most ${defaults.maxConcurrency} slots, got ${value}`);
  return n;
}

/** A TCP port to listen on: 0 (any free one) to 65535. */
export function tcpPort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError(`expected a TCP port, 0 to 65535 (0: any free port), got "${value}"`);
  return Number(value);
}

export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return Number(value);
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative number, got "${value}"`);
  return n;
}

export function queueList(value: string): string[] {
  const queues = value.split(',').map((q) => q.trim()).filter(Boolean);
  if (!queues.length) throw new InvalidArgumentError('expected one or more queue names, comma-separated');
  for (const q of queues) {
    if (!QUEUE_NAME_PATTERN.test(q)) throw new InvalidArgumentError(`"${q}" is not a valid queue name (letters, digits, _ . -)`);
  }
  return queues;
}

export function logLevel(value: string): string {
  const levels = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'critical', 'silent'];
  const v = value.toLowerCase();
  if (!levels.includes(v)) throw new InvalidArgumentError(`expected one of ${levels.join(', ')}, got "${value}"`);
  return v === 'warning' ? 'warn' : v === 'critical' ? 'fatal' : v;
}

export function jsonArgs(value: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`args must be a JSON array, e.g. '[2, 3]': ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new InvalidArgumentError(`args must be a JSON array, e.g. '[2, 3]', got ${typeof parsed}${parsed && typeof parsed === 'object' ? ` (keyword arguments go in -k '${value}')` : ''}`);
  return parsed;
}

/** `--kwargs '{"y": 2}'`: a JSON object of keyword arguments. */
export function jsonKwargs(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`kwargs must be a JSON object, e.g. '{"y": 2}': ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError(`kwargs must be a JSON object, e.g. '{"y": 2}', got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  return parsed as Record<string, unknown>;
}

/** Celery's `--autoscale max,min` (min defaults to 1). */
export function autoscaleRange(value: string): { max: number; min: number } {
  const m = /^\s*(\d+)\s*(?:,\s*(\d+)\s*)?$/.exec(value);
  const max = Number(m?.[1]);
  const min = m?.[2] === undefined ? 1 : Number(m[2]);
  if (!m || max < 1 || min < 1 || min > max) throw new InvalidArgumentError(`expected max,min with 1 ≤ min ≤ max (e.g. 10,3), got "${value}"`);
  return { max, min };
}

/** `--umask 027`: an octal file mode mask. */
export function umask(value: string): number {
  if (!/^0?[0-7]{1,3}$/.test(value)) throw new InvalidArgumentError(`expected an octal mask such as 022 or 027, got "${value}"`);
  return parseInt(value, 8);
}

/** `-P`: taskq's pools, and Celery's names for them (prefork → processes; solo, gevent, eventlet → async). */
export const POOL_NAMES: Record<string, 'async' | 'threads' | 'processes' | 'solo'> = {
  async: 'async',
  threads: 'threads',
  processes: 'processes',
  prefork: 'processes',
  solo: 'solo',
  gevent: 'async',
  eventlet: 'async',
};

export function poolName(value: string): 'async' | 'threads' | 'processes' | 'solo' {
  const kind = POOL_NAMES[value];
  if (!kind) throw new InvalidArgumentError(`expected one of ${Object.keys(POOL_NAMES).join(', ')}, got "${value}"`);
  return kind;
}

/** Celery's `-O fair` (hold nothing beyond the free slots) or `-O default`. */
export function optimization(value: string): 'fair' | 'default' {
  if (value !== 'fair' && value !== 'default') throw new InvalidArgumentError(`expected fair or default, got "${value}"`);
  return value;
}

/** A directory that exists (a node's --workdir): a missing one fails here, not as a spawn error later. */
export function existingDirectory(value: string): string {
  let isDir = false;
  try {
    isDir = statSync(value).isDirectory();
  } catch {
    throw new InvalidArgumentError(`no such directory: ${resolve(value)}. Create it, or give the directory the node should work in`);
  }
  if (!isDir) throw new InvalidArgumentError(`${resolve(value)} is a file, not a directory`);
  return value;
}
