/**
 * The download node's own aria2c: RPC on loopback only, on a free port, with a random secret kept in a
 * 0600 configuration file (never on the command line, where `ps` shows it), a session file it saves to
 * and resumes from (created empty first: a missing input file aborts aria2c), and its download folder
 * inside the cache. It dies with the process that started it (setpriv --pdeathsig, util-linux). Ready
 * once it answers getVersion with that secret.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, TaskqError } from '../errors.js';
import { Aria2Client, type Aria2Connection } from './aria2-client.js';
import { DOWNLOAD_AGENT } from '../tasks/own-traffic.js';

export interface Aria2DaemonOptions {
  /** Where its configuration (with the secret) and session live. */
  stateDir: string;
  /** Where it writes downloads (inside the cache). */
  downloadDir: string;
  /** RPC port (default: a free one). */
  port?: number;
  /** How long to wait for it to answer (ms, default 10 s). */
  readyTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  await once(s, 'close');
  return port;
}

/**
 * Events: 'exit' (code, signal) when aria2c dies after it was ready, unless stop() asked it to. A
 * restart (start() again) keeps the port and the secret, so a client reconnects by itself.
 */
/**
 * aria2c's command line, under setpriv --pdeathsig: aria2c gets TERM when this process dies, even by
 * kill -9 (no orphan holds the port).
 */
function aria2Argv({ conf, port, downloadDir, session }: { conf: string; port: number; downloadDir: string; session: string }): string[] {
  return [
    '--pdeathsig',
    'SIGTERM',
    '--',
    'aria2c',
    `--conf-path=${conf}`,
    '--enable-rpc=true',
    '--rpc-listen-all=false',
    `--rpc-listen-port=${port}`,
    `--dir=${downloadDir}`,
    `--input-file=${session}`,
    `--save-session=${session}`,
    '--save-session-interval=1',
    // Control files (.aria2) current to the second: a download killed -9 continues, not restarts.
    '--auto-save-interval=1',
    '--continue=true',
    '--auto-file-renaming=false',
    '--allow-overwrite=true',
    '--file-allocation=none',
    // Written as it arrives: its 16 MiB write cache costs a copy per byte (0.33–0.39 s for 200 MB on
    // loopback, 0.29–0.30 s without) and keeps nothing a crash would want.
    '--disk-cache=0',
    '--quiet=true',
    // Its requests say they are taskq's: analyze skips them when the capture sees them.
    `--user-agent=${DOWNLOAD_AGENT}`,
  ];
}

export class Aria2Daemon extends EventEmitter {
  private child: ChildProcess | undefined;
  private port: number | undefined;
  private readonly secret = randomBytes(24).toString('hex');
  private stopping = false;
  connection: Aria2Connection | undefined;

  constructor(private readonly options: Aria2DaemonOptions) {
    super();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts aria2c (resuming the session's downloads) and resolves once it answers. */
  async start(): Promise<Aria2Connection> {
    const { stateDir, downloadDir } = this.options;
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    mkdirSync(downloadDir, { recursive: true });
    this.stopping = false;
    const port = (this.port ??= this.options.port ?? (await freePort()));
    const secret = this.secret;
    const conf = join(stateDir, 'aria2.conf');
    const session = join(stateDir, 'aria2.session');
    if (!existsSync(session)) writeFileSync(session, '', { mode: 0o600 });
    writeFileSync(conf, `rpc-secret=${secret}\n`, { mode: 0o600 });
    chmodSync(conf, 0o600);
    const child = spawn('setpriv', aria2Argv({ conf, port, downloadDir, session }), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new TaskqError('TASKQ_ARIA2_ERROR', `cannot start aria2c: ${err.message} (apt-get install aria2)`, { exitCode: ExitCode.unavailable })));
      child.once('exit', (code, signal) => reject(new TaskqError('TASKQ_ARIA2_ERROR', `aria2c exited (${signal ?? code}) while starting: ${stderr.trim()}`, { exitCode: ExitCode.unavailable })));
    });
    failed.catch(() => {});
    this.child = child;
    const connection: Aria2Connection = { port, secret };
    await Promise.race([this.ready(connection), failed]);
    child.removeAllListeners('exit');
    child.once('exit', (code, signal) => {
      if (!this.stopping) this.emit('exit', code, signal);
    });
    // Where the web UI finds it (with the secret from aria2.conf): both 0600, in the node's state folder.
    writeFileSync(join(stateDir, 'rpc.json'), JSON.stringify({ port, pid: child.pid }), { mode: 0o600 });
    this.connection = connection;
    return connection;
  }

  private async ready(connection: Aria2Connection): Promise<void> {
    const client = new Aria2Client({ ...connection, timeoutMs: 1000 });
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 10_000);
    for (;;) {
      try {
        await client.getVersion();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new TaskqError('TASKQ_ARIA2_ERROR', `aria2c did not answer on 127.0.0.1:${connection.port}: ${(err as Error).message}`, { exitCode: ExitCode.unavailable });
        await sleep(50);
      }
    }
  }

  /** SIGTERM now, without waiting (a process exiting: aria2c saves its session on TERM). */
  signalStop(): void {
    this.stopping = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }

  /** Stops it: the session is saved first (SIGTERM), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    // TERM: aria2c saves its session and exits within a second (an RPC shutdown would wait for its
    // own HTTP connection to close, seconds later).
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
