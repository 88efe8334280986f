/**
 * Option objects are checked by name: a misspelt or foreign option (`delay` for `countdown`,
 * `attempts` for `retries`, `autoRetryFor`) would otherwise be ignored without a word, and the task
 * would run at once, or without retries. The error names the option and what to write instead.
 */
import { OptionError } from '../errors.js';

/** Names other libraries use (BullMQ, Celery), and what taskq calls them. */
const FOREIGN: Readonly<Record<string, string>> = {
  delay: 'countdown (seconds)',
  attempts: 'retries',
  retry: 'retries',
  maxRetries: 'retries',
  timeout: 'timeLimitMs',
  timeLimit: 'timeLimitMs (milliseconds)',
  softTimeLimit: 'softTimeLimitMs (milliseconds)',
  time_limit: 'timeLimitMs (milliseconds)',
  soft_time_limit: 'softTimeLimitMs (milliseconds)',
  task_id: 'jobId',
  taskId: 'jobId',
  routing_key: 'queue',
  routingKey: 'queue',
  max_retries: 'retries',
  autoretry_for: 'autoretryFor',
  acks_late: 'acksLate',
  ignore_result: 'ignoreResult',
  rate_limit: 'rateLimit',
};

/** Edit distance, for "did you mean": small strings only. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** What to write instead of `name`, if anything is close enough. */
function suggestion(name: string, known: ReadonlySet<string>): string | undefined {
  const foreign = FOREIGN[name];
  if (foreign !== undefined && known.has(foreign.split(' ')[0] as string)) return foreign;
  return closestName(name, known);
}

/** The name of `known` closest to `name` (a typo's likely intent), if one is close enough. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** What is wrong with the first key of `given` that `known` lacks (`where`: whose options), or undefined. */
export function unknownOptionProblem(given: object | null | undefined, known: ReadonlySet<string>, where: string): string | undefined {
  if (!given || typeof given !== 'object') return undefined;
  for (const key of Object.keys(given)) {
    if (known.has(key) || (given as Record<string, unknown>)[key] === undefined) continue;
    const instead = suggestion(key, known);
    return `${where}: unknown option ${JSON.stringify(key)}${instead ? `; did you mean ${instead}?` : ''} (known: ${[...known].sort().join(', ')})`;
  }
  return undefined;
}

/** Throws OptionError (exit 64) for the first unknown key of `given`. */
export function refuseUnknownOptions(given: object | null | undefined, known: ReadonlySet<string>, where: string): void {
  const problem = unknownOptionProblem(given, known, where);
  if (problem) throw new OptionError(problem);
}
