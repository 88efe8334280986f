/**
 * Cron expressions, by node-cron's rules (the project's cron library): five fields, or six with
 * seconds first; names, ranges, steps, `L`, `W`, `#`. Day-of-month and day-of-week both have to match
 * when both are restricted (`0 0 13 * 5` is Friday the 13th only; Vixie cron would take either). In a
 * named timezone a local time that a DST change skips does not fire that day, and one it repeats fires
 * once (at its second occurrence, in standard time). node-cron computes next matches but does not export that walker; it is reached through a task
 * it creates and never starts (pinned version; test/unit/beat/cron.test.ts fails if that changes).
 */
import cron from 'node-cron';

/** The next time strictly after `after` that `expression` matches, in `timezone` (undefined = this host's). */
export type NextMatch = (after: Date) => Date;

interface Walker {
  getNextMatch(date: Date): Date;
}

/** Why `expression` is not a valid cron expression (each bad field with its value), or undefined. */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return `expected 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields.length}`;
  const v = cron.validateDetailed(expression);
  if (v.valid) return undefined;
  return v.errors.map((e) => `${FIELD_NAMES[e.field] ?? e.field} ${JSON.stringify(e.value ?? '')}: ${fieldProblem(e.field, e.message)}`).join('; ') || 'not a cron expression';
}

/** node-cron's field names, as the error message says them. */
const FIELD_NAMES: Readonly<Record<string, string>> = { dayOfMonth: 'day of month', dayOfWeek: 'weekday' };

/** What each field takes (node-cron's grammar). */
const RANGES: Readonly<Record<string, string>> = {
  second: '0–59',
  minute: '0–59',
  hour: '0–23',
  dayOfMonth: '1–31',
  month: '1–12 or jan–dec',
  dayOfWeek: '0–7 (0 and 7 are Sunday) or sun–sat',
};

/** node-cron's message, said plainly with the field's range ("61 is a invalid expression for minute" → out of range). */
function fieldProblem(field: string, message: string): string {
  const range = RANGES[field];
  return /is a invalid expression/.test(message) && range ? `not a valid ${FIELD_NAMES[field] ?? field}: expected ${range}, a range (a-b), a list (a,b), a step (*/n) or *` : message;
}

/** Whether `timezone` is an IANA zone this Node knows. */
export function knownTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The next-match function of a valid expression. */
export function cronNextMatch(expression: string, timezone: string | undefined): NextMatch {
  const task = cron.createTask(expression, () => {}, timezone ? { timezone } : {});
  const walker = (task as unknown as { timeMatcher?: Walker }).timeMatcher;
  void task.destroy();
  if (!walker || typeof walker.getNextMatch !== 'function') throw new Error('internal: node-cron no longer exposes its time matcher; pin the version this was written for');
  return (after) => walker.getNextMatch(after);
}
