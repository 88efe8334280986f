/**
 * Node-name templates (Celery's): `%h` full host name, `%n` host name without domain, `%d` domain,
 * `%%` a percent sign. A name without `@` gets `@<hostname>`.
 */
import { hostname as osHostname } from 'node:os';

export function expandNodeName(template: string, host = osHostname()): string {
  const dot = host.indexOf('.');
  const short = dot < 0 ? host : host.slice(0, dot);
  const domain = dot < 0 ? '' : host.slice(dot + 1);
  const expanded = template.replace(/%([hnd%])/g, (_, c: string) => (c === 'h' ? host : c === 'n' ? short : c === 'd' ? domain : '%'));
  return expanded.includes('@') ? expanded : `${expanded}@${host}`;
}

export { expandIndex } from '../worker/pool/log-file.js';
