/** A TCP proxy on loopback whose target can change: new connections go to the current one (a failover seen through DNS or a proxy). */
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { onTestFinished } from 'vitest';

export interface SwitchingProxy {
  /** redis://127.0.0.1:<port> */
  url: string;
  /** Connections made from now on go to `url`'s host and port; open ones stay where they are. */
  point(url: string): void;
  /** Connections accepted so far. */
  readonly accepted: number;
}

export async function switchingProxy(target: string): Promise<SwitchingProxy> {
  let to = new URL(target);
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    accepted++;
    const upstream = connect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    point: (url) => void (to = new URL(url)),
    get accepted() {
      return accepted;
    },
  };
}
