/** A node's slot options, checked: concurrency, or autoscale bounds (the node starts at the minimum). */
import { defaults } from '../defaults.js';
import { OptionError } from '../errors.js';
import type { WorkerNodeOptions } from './worker-types.js';

export function slotsOf(options: WorkerNodeOptions): { concurrency: number; autoscale: { min: number; max: number } | undefined } {
  const concurrency = options.concurrency ?? defaults.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > defaults.maxConcurrency) {
    throw new OptionError(`concurrency must be an integer from 1 to ${defaults.maxConcurrency}, got ${JSON.stringify(options.concurrency)}`);
  }
  if (!options.autoscale) return { concurrency, autoscale: undefined };
  const { min, max } = options.autoscale;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new OptionError(`autoscale must be max,min with 1 ≤ min ≤ max, got ${JSON.stringify(options.autoscale)}`);
  }
  return { concurrency: min, autoscale: { min, max } };
}
