/** Small helpers shared by the benchmark: clock, statistics, bounded loops, watchdog. */

/**
 * Milliseconds (µs resolution) on CLOCK_MONOTONIC. That clock is system-wide on Linux, so stamps
 * taken in the producer and in the worker process compare directly — unlike Date.now() (1 ms
 * resolution) or performance.now() (per-process origin).
 */
export const nowMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted array. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

/** Calls fn(i) for i in [0, n) with at most `width` calls in flight. */
export async function runPool(n, width, fn) {
  let next = 0;
  const lane = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

/** Splits [0, n) into consecutive ranges of at most `size`: [[start, end), …]. */
export function ranges(n, size) {
  const out = [];
  for (let start = 0; start < n; start += size) out.push([start, Math.min(n, start + size)]);
  return out;
}

export class WatchdogError extends Error {}

/**
 * Runs `fn(signal)`; if it has not settled after `ms`, aborts the signal (callers kill their child
 * processes on it) and rejects with a message naming the measurement and the limit.
 */
export async function withWatchdog(label, ms, fn) {
  const controller = new AbortController();
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const err = new WatchdogError(`watchdog: "${label}" did not finish within ${ms} ms; aborted (a system stalled or the machine is overloaded)`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
