/**
 * `worker.conf`, the EnvironmentFile of deploy/taskq.service, read the way systemd reads it — and
 * checked, because systemd only logs a line it cannot use and starts the service without it:
 *   KEY=value   KEY="value with spaces"   KEY='value'   # comment   ; comment   blank lines
 * A line that is not an assignment (`export X=1`, no `=`, an unclosed quote), a name that is not a
 * valid variable, or a TASKQ_* name taskq does not know (a typo) is an error naming file and line.
 * Pure: the caller reads the file.
 */
import { ConfigError } from '../errors.js';
import { closestName } from '../core/option-names.js';

/** The variables worker.conf may set for taskq (others, such as NODE_OPTIONS, pass through). */
export const KNOWN_TASKQ_VARS = [
  // The service's own (worker.conf, deploy/taskq.service)
  'TASKQ_NODES',
  'TASKQ_BIN',
  'TASKQ_APP',
  'TASKQ_OPTS',
  'TASKQ_PID_FILE',
  'TASKQ_LOG_FILE',
  'TASKQ_LOG_LEVEL',
  'TASKQ_LOG_FORMAT',
  'TASKQ_STOP_TIMEOUT',
  // The app's settings (core/config.ts)
  'TASKQ_BROKER_URL',
  'TASKQ_KEY_PREFIX',
  'TASKQ_DEFAULT_QUEUE',
  'TASKQ_RESULT_EXPIRES_MS',
  'TASKQ_EVENTS',
  'TASKQ_TASK_EVENTS',
  'TASKQ_SENT_EVENTS',
  'TASKQ_EVENTS_MAX_LEN',
  'TASKQ_EVENTS_MAX_AGE_MS',
  'TASKQ_DEAD_MAX_LEN',
  'TASKQ_DEAD_MAX_AGE_MS',
  'TASKQ_STALL_INTERVAL_MS',
  'TASKQ_MAX_STALLS',
  'TASKQ_HEARTBEAT_MS',
  'TASKQ_REDIS_APPENDFSYNC',
  // The flagship's (analyze, download, cache, web UI, demo)
  'TASKQ_ANALYZE_ALLOW_HOSTS',
  'TASKQ_ANALYZE_DENY_HOSTS',
  'TASKQ_ANALYZE_MIN_BYTES',
  'TASKQ_ANALYZE_MAX_BYTES',
  'TASKQ_ANALYZE_VOLATILE_PARAMS',
  'TASKQ_ARIA2_URL',
  'TASKQ_ARIA2_SECRET',
  'TASKQ_DOWNLOAD_LEASE_MS',
  'TASKQ_CACHE_DIR',
  'TASKQ_CACHE_MAX_BYTES',
  'TASKQ_CACHE_HOST',
  'TASKQ_CACHE_PORT',
  'TASKQ_UI_HOST',
  'TASKQ_UI_PORT',
  'TASKQ_UI_TOKEN',
  'TASKQ_UI_READ_ONLY',
  'TASKQ_UI_ENABLE_EVENTS',
  'TASKQ_DEMO_DIR',
  'TASKQ_DEMO_PORT',
];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function unquote(raw: string, where: string): string {
  const v = raw.trim();
  const q = v[0];
  if (q === '"' || q === "'") {
    if (v.length < 2 || v[v.length - 1] !== q) throw new ConfigError('TASKQ_CONFIG_INVALID', `${where}: the value opens a ${q} quote it does not close`);
    const inner = v.slice(1, -1);
    return q === '"' ? inner.replace(/\\(["\\$`])/g, '$1') : inner;
  }
  return v;
}

/** The variables `text` sets; `file` names it in errors. */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith(';')) return;
    if (/^export\s/.test(t)) throw new ConfigError('TASKQ_CONFIG_INVALID', `${where}: systemd does not read \`export\`: write ${t.replace(/^export\s+/, '')}`);
    const eq = line.indexOf('=');
    if (eq < 0) throw new ConfigError('TASKQ_CONFIG_INVALID', `${where}: not an assignment (KEY=value): ${JSON.stringify(t)}`);
    const name = line.slice(0, eq).trim();
    if (!NAME.test(name)) throw new ConfigError('TASKQ_CONFIG_INVALID', `${where}: ${JSON.stringify(name)} is not a variable name (letters, digits, _)`);
    if (name.startsWith('TASKQ_') && !KNOWN_TASKQ_VARS.includes(name)) {
      const near = closestName(name, KNOWN_TASKQ_VARS);
      throw new ConfigError('TASKQ_CONFIG_INVALID', `${where}: taskq reads no ${name}${near ? `; did you mean ${near}?` : ''} (known: ${KNOWN_TASKQ_VARS.join(', ')})`);
    }
    vars[name] = unquote(line.slice(eq + 1), where);
  });
  return vars;
}
