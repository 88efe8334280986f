/**
 * A private redis-server owned by this process (`npm start` without TASKQ_BROKER_URL; the tests).
 * Its data lives in `dir` with AOF on, so a restart keeps every acknowledged write; it listens on a
 * Unix socket in `dir` (no port to collide with) or on a loopback port. It never binds beyond
 * 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerUnavailableError } from '../errors.js';

export interface LocalRedisOptions {
  /** Data folder (created). */
  dir: string;
  /** Loopback TCP port; without it the server listens on `<dir>/redis.sock` only. */
  port?: number;
  /** Append-only file (default on). */
  appendonly?: boolean;
  /**
   * When Redis fsyncs the AOF: `everysec` (default: a crash of Redis or the machine can lose the last
   * second of acknowledged writes) or `always` (before every reply: nothing acknowledged is lost, at
   * the cost `npm run bench` measures).
   */
  appendfsync?: 'everysec' | 'always';
  /** redis-server binary (default: from PATH). */
  binary?: string;
  /**
   * Run Redis in its own process group, so a terminal's Ctrl-C (SIGINT to the whole foreground group)
   * does not stop it before the workers that still need it have drained; its owner stops it last.
   */
  ownProcessGroup?: boolean;
  /** It stops (SIGTERM) when the process that started it dies, even by kill -9. */
  dieWithParent?: boolean;
}

export class LocalRedis {
  private child: ChildProcess | undefined;
  private output = '';

  constructor(private readonly options: LocalRedisOptions) {}

  get socket(): string {
    return join(this.options.dir, 'redis.sock');
  }

  /** The broker URL clients use. */
  get url(): string {
    return this.options.port ? `redis://127.0.0.1:${this.options.port}/0` : `unix://${this.socket}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server and resolves once it accepts connections. */
  async start(): Promise<void> {
    mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    const o = this.options;
    const args = [
      '--dir', o.dir,
      '--port', String(o.port ?? 0),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', o.appendonly === false ? 'no' : 'yes',
      '--appendfsync', o.appendfsync ?? 'everysec',
      '--daemonize', 'no',
      '--loglevel', 'notice',
      '--logfile', '',
    ];
    if (!o.port) args.push('--unixsocket', this.socket, '--unixsocketperm', '700');
    this.output = '';
    // setpriv --pdeathsig (util-linux): SIGTERM when its starter dies, even by kill -9 (it saves and exits).
    const [file, argv] = o.dieWithParent ? ['setpriv', ['--pdeathsig', 'SIGTERM', '--', o.binary ?? 'redis-server', ...args]] : [o.binary ?? 'redis-server', args];
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: o.ownProcessGroup ?? false });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString();
        if (/ready to accept connections/i.test(this.output)) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (err) =>
        reject(new BrokerUnavailableError(`cannot start redis-server (${err.message}): install it (npm start does) or set TASKQ_BROKER_URL`, { cause: err })),
      );
      child.once('exit', (code) =>
        reject(new BrokerUnavailableError(`redis-server exited with code ${code} before it was ready:\n${this.output.trim()}`)),
      );
    });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill(signal);
    await exited;
  }

  /** SIGTERM: Redis fsyncs the AOF and exits. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  /** SIGKILL, as a crash. */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }
}
