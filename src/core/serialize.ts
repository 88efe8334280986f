/**
 * JSON is the wire format. `JSON.stringify` silently changes some values (a Map becomes `{}`, NaN
 * becomes `null`, a function disappears); taskq refuses them instead, naming the path of the value,
 * so the call site learns at once rather than the task getting different arguments.
 */
import { TaskqError, type TaskqErrorCode } from '../errors.js';

function describe(value: unknown): string | undefined {
  switch (typeof value) {
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'bigint':
      return 'a BigInt (send it as a string)';
    case 'number':
      return Number.isFinite(value) ? undefined : `${value} (not representable in JSON)`;
    default:
      break;
  }
  if (value instanceof Map) return 'a Map (send Object.fromEntries(map))';
  if (value instanceof Set) return 'a Set (send [...set])';
  if (value instanceof WeakMap || value instanceof WeakSet) return 'a WeakMap/WeakSet';
  if (value instanceof Promise) return 'a Promise (await it first)';
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return 'a binary buffer (send base64 text)';
  if (value instanceof RegExp) return 'a RegExp (send its source text)';
  if (value instanceof Error) return 'an Error (send {name, message}, or throw it to fail the task)';
  return undefined;
}

/**
 * How deep arguments and results may nest. Far below what breaks JSON.stringify's recursion (about
 * 4,000 here) or Lua cjson (1,000), so every process that handles a job can decode and re-encode it.
 */
export const MAX_JSON_DEPTH = 100;

function shortPath(path: string): string {
  return path.length > 80 ? `${path.slice(0, 40)}…${path.slice(-30)}` : path;
}

/** Returns the path and reason of the first value JSON cannot carry faithfully, or undefined. */
export function findUnserializable(value: unknown, path: string, seen = new Set<object>(), depth = 0): string | undefined {
  const bad = describe(value);
  if (bad) return `${path} is ${bad}`;
  if (value === null || typeof value !== 'object') return undefined;
  if (value instanceof Date) return undefined;
  if (depth >= MAX_JSON_DEPTH) return `${shortPath(path)} is nested deeper than ${MAX_JSON_DEPTH} levels (flatten it)`;
  if (seen.has(value)) return `${path} is a circular reference`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (value[i] === undefined) return `${path}[${i}] is undefined (JSON would turn it into null)`;
        const inner = findUnserializable(value[i], `${path}[${i}]`, seen, depth + 1);
        if (inner) return inner;
      }
      return undefined;
    }
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
    for (const [key, inner] of Object.entries(value)) {
      const found = findUnserializable(inner, `${path}.${key}`, seen, depth + 1);
      if (found) return found;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}

/** Serialises `value` or throws a TaskqError with `code` naming what cannot be sent and where. */
export function toJson(value: unknown, path: string, code: TaskqErrorCode, where: string): string {
  const problem = findUnserializable(value, path);
  if (problem) {
    throw new TaskqError(code, `${where}: ${problem}; taskq sends JSON, so use plain values.`, { exitCode: 65 });
  }
  return JSON.stringify(value ?? null);
}
