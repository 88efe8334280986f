/**
 * The aria2 daemons the UI can reach: the configured one (TASKQ_ARIA2_URL), or each download node's
 * own, found in `<cache>/aria2/<node>/` (rpc.json: port and pid; aria2.conf: the secret, both 0600 and
 * read only here, server side — the browser never sees a secret). A daemon whose pid is gone is skipped.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Aria2Client } from '../download/aria2-client.js';
import { cacheSettings } from '../download/cache-settings.js';
import { isRunning } from '../multi/process-identity.js';

export interface Aria2Endpoint {
  /** The download node's name (its folder), or `configured`. */
  name: string;
  client: Aria2Client;
}


export class Aria2Registry {
  private readonly clients = new Map<string, { key: string; client: Aria2Client }>();

  /** The reachable daemons now (clients are kept while their port and secret stay the same). */
  endpoints(): Aria2Endpoint[] {
    const settings = cacheSettings();
    const found: Array<{ name: string; host?: string; port: number; secret: string }> = [];
    if (settings.aria2) found.push({ name: 'configured', ...settings.aria2 });
    else {
      const root = join(settings.dir, 'aria2');
      for (const node of existsSync(root) ? readdirSync(root) : []) {
        try {
          const rpc = JSON.parse(readFileSync(join(root, node, 'rpc.json'), 'utf8')) as { port: number; pid: number };
          const secret = /^rpc-secret=(.+)$/m.exec(readFileSync(join(root, node, 'aria2.conf'), 'utf8'))?.[1];
          if (secret && isRunning(rpc.pid)) found.push({ name: node, port: rpc.port, secret });
        } catch {
          /* a node folder without a running aria2c */
        }
      }
    }
    return found.map((f) => {
      const key = `${f.host ?? ''}:${f.port}:${f.secret}`;
      let entry = this.clients.get(f.name);
      if (entry?.key !== key) {
        entry = { key, client: new Aria2Client({ ...(f.host ? { host: f.host } : {}), port: f.port, secret: f.secret, timeoutMs: 3000 }) };
        this.clients.set(f.name, entry);
      }
      return { name: f.name, client: entry.client };
    });
  }

  find(name: string): Aria2Endpoint | undefined {
    return this.endpoints().find((e) => e.name === name);
  }
}
