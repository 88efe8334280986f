/**
 * Starts a private redis-server for tests: a free loopback port, data in a temp dir, AOF on (so a
 * restart keeps acknowledged writes, as in production). Never touches a system Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Stops the server (SIGTERM; AOF is fsynced). */
  stop(): Promise<void>;
  /** Kills it hard (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** Removes the data dir; call after stop. */
  remove(): void;
}

export async function startRedis(options: { appendonly?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'taskq-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    child = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--save', '',
        '--appendonly', options.appendonly === false ? 'no' : 'yes',
        '--appendfsync', 'everysec',
        '--daemonize', 'no',
        '--loglevel', 'notice',
        '--logfile', '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (/Ready to accept connections/.test(output)) resolve();
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', onData);
      child!.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
      child!.once('error', reject);
    });
    await ready;
  };

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill(signal);
    await exited;
  };

  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    start,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
