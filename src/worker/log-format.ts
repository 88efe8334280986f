/**
 * How a worker's log lines look on a terminal: Celery's shape, one line each —
 *   [2026-11-30 12:00:00,123: INFO/MainProcess] Task add[1b2c…] succeeded in 0.0012s: 5
 * — while log files keep pino's JSON lines. A pino destination: it receives pino's JSON line and
 * writes the human one. Lives with the worker because pool children format their own lines.
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };
/** Fields every line carries or that the message already says: not repeated after it. */
const QUIET = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'node', 'index', 'task', 'jobId', 'attempt', 'err', 'v', 'runtimeMs', 'retryInMs', 'reason', 'verdict']);

function stamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}

function brief(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** One pino JSON line as Celery would print it (unchanged if it is not JSON). */
export function formatLogLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = LEVELS[Number(rec.level)] ?? String(rec.level);
  const proc = typeof rec.index === 'number' && rec.index > 0 ? `PoolWorker-${rec.index}` : 'MainProcess';
  const extras = Object.entries(rec)
    .filter(([k, v]) => !QUIET.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${brief(v)}`);
  let out = `[${stamp(Number(rec.time))}: ${level}/${proc}] ${String(rec.msg ?? '')}${extras.length ? ` (${extras.join(' ')})` : ''}\n`;
  const err = rec.err as { stack?: string; message?: string } | undefined;
  if (err && (err.stack || err.message)) out += `${err.stack ?? err.message}\n`;
  return out;
}

/** A pino destination that writes Celery-style lines to `write` (e.g. stderr, synchronously). */
export function humanLogStream(write: (text: string) => void): { write(line: string): void } {
  return { write: (line) => write(formatLogLine(line)) };
}

/** Terminal → human lines; files, pipes and journald → JSON. TASKQ_LOG_FORMAT=human|json decides otherwise. */
export function wantsHumanLogs(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): boolean {
  const chosen = env.TASKQ_LOG_FORMAT?.toLowerCase();
  if (chosen === 'human') return true;
  if (chosen === 'json') return false;
  return isTTY === true;
}
