/**
 * The web UI's settings: address, token, read-only. Safe by default: loopback; binding elsewhere
 * needs a token; changes (POST) always need the token, which is generated per run when none is given
 * (`taskq ui` prints the URL carrying it, in the fragment, never sent to a server log).
 */
import { randomBytes } from 'node:crypto';
import { defaults } from '../defaults.js';
import { ConfigError } from '../errors.js';

export interface UiSettings {
  host: string;
  port: number;
  token: string;
  /** The token came from TASKQ_UI_TOKEN / --token (not generated). */
  tokenGiven: boolean;
  readOnly: boolean;
  /** Turn task events on in the worker nodes while the UI runs (as Flower does; TASKQ_UI_ENABLE_EVENTS=0 or --no-enable-events: not). */
  enableEvents: boolean;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function uiSettings(options: { host?: string; port?: number; token?: string; readOnly?: boolean; enableEvents?: boolean }, env: NodeJS.ProcessEnv = process.env): UiSettings {
  const host = options.host ?? (env.TASKQ_UI_HOST || defaults.uiHost);
  let port: number = options.port ?? defaults.uiPort;
  if (options.port === undefined && env.TASKQ_UI_PORT) {
    port = Number(env.TASKQ_UI_PORT);
    if (!/^\d+$/.test(env.TASKQ_UI_PORT) || port > 65535) throw new ConfigError('TASKQ_CONFIG_INVALID', `TASKQ_UI_PORT=${JSON.stringify(env.TASKQ_UI_PORT)}: expected a TCP port, 0 to 65535`);
  }
  const given = options.token ?? env.TASKQ_UI_TOKEN;
  if (given !== undefined && given.length < 16) throw new ConfigError('TASKQ_CONFIG_INVALID', 'the UI token (TASKQ_UI_TOKEN or --token) must be at least 16 characters');
  if (!isLoopback(host) && !given) throw new ConfigError('TASKQ_CONFIG_INVALID', `the UI on ${host} would be reachable from other machines: set a token (TASKQ_UI_TOKEN or --token, 16+ characters), or bind 127.0.0.1`);
  const readOnly = options.readOnly ?? /^(1|true|yes|on)$/i.test(env.TASKQ_UI_READ_ONLY ?? '');
  const rawEnable = env.TASKQ_UI_ENABLE_EVENTS ?? '1';
  if (!/^(1|0|true|false|yes|no|on|off)$/i.test(rawEnable)) throw new ConfigError('TASKQ_CONFIG_INVALID', `TASKQ_UI_ENABLE_EVENTS=${JSON.stringify(rawEnable)}: expected 1 or 0`);
  const enableEvents = options.enableEvents ?? /^(1|true|yes|on)$/i.test(rawEnable);
  return { host, port, token: given ?? randomBytes(18).toString('base64url'), tokenGiven: given !== undefined, readOnly, enableEvents };
}
