/**
 * A download node's downloads through aria2: its own supervised aria2c (restarted when it dies, its
 * session resumed) or a configured one. `download()` adds a file under a gid the caller derives from
 * the resource (a second call for the same gid follows the download already there) and resolves when
 * aria2 has it all. Progress comes from one batched `tellStatus` per period for every download
 * followed (`system.multicall`), and at once when a notification says one ended.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError } from '../errors.js';
import { Aria2Client, Aria2Error, type Aria2Connection, type Aria2Status } from './aria2-client.js';
import { Aria2Daemon } from './aria2-daemon.js';

export interface DownloadProgress {
  completed: number;
  total: number;
  /** Bytes a second, now. */
  speed: number;
  /** Seconds left at this speed; undefined when unknown. */
  eta: number | undefined;
}

export interface DownloadRequest {
  /** 16 hex digits (aria2's gid format), derived from the resource. */
  gid: string;
  uri: string;
  dir: string;
  /** A bare file name, computed by the caller. */
  out: string;
  /** The page that asked for the resource (sent as Referer, as the browser did). */
  referer?: string;
}

interface Follower {
  request: DownloadRequest;
  onProgress: (p: DownloadProgress) => void;
  resolve: (totalLength: number) => void;
  reject: (err: Error) => void;
}

const STATUS_KEYS = ['gid', 'status', 'totalLength', 'completedLength', 'downloadSpeed', 'errorCode', 'errorMessage'];

/** aria2 error codes that no retry fixes (aria2c(1), EXIT STATUS): 3 not found, 24 authorization, 9 no space... */
const FOR_GOOD = new Set(['3', '24', '16']);

export interface DownloaderOptions {
  log: Logger;
  /** Where the own aria2c keeps its configuration and session. */
  stateDir: string;
  /** Its default download folder. */
  downloadDir: string;
  /** A configured aria2 (TASKQ_ARIA2_URL, TASKQ_ARIA2_SECRET) instead of an own aria2c. */
  external?: Aria2Connection;
  /** tellStatus period (ms, default 500). */
  pollMs?: number;
}

export class Downloader {
  private readonly followers = new Map<string, Follower>();
  private daemon: Aria2Daemon | undefined;
  private client: Aria2Client | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** aria2c restarts since start (the web UI and the heartbeat show it). */
  restarts = 0;

  constructor(private readonly options: DownloaderOptions) {}

  get aria2(): Aria2Client {
    if (!this.client) throw new Error('the downloader is not started');
    return this.client;
  }

  get aria2Pid(): number | undefined {
    return this.daemon?.pid;
  }

  async start(): Promise<void> {
    const { external, stateDir, downloadDir } = this.options;
    let conn = external;
    if (!conn) {
      const daemon = new Aria2Daemon({ stateDir, downloadDir });
      this.daemon = daemon;
      conn = await daemon.start();
      daemon.on('exit', (code: number | null, signal: string | null) => void this.restart(code, signal));
    }
    this.client = new Aria2Client(conn);
    for (const event of ['downloadComplete', 'downloadError', 'downloadStop']) this.client.on(event, () => this.wake?.());
    await this.client.open();
    this.loop = this.poll();
  }

  /** aria2c died: start it again (same port and secret); its session brings the downloads back. */
  private async restart(code: number | null, signal: string | null): Promise<void> {
    const { log } = this.options;
    for (let attempt = 0; !this.stopped; attempt++) {
      log.warn({ code, signal, attempt }, 'aria2c exited; restarting it (its session resumes the downloads)');
      try {
        await this.daemon?.start();
        this.restarts++;
        return;
      } catch (err) {
        log.error({ err }, 'aria2c did not restart');
        await sleep(Math.min(500 * 2 ** attempt, 10_000));
      }
    }
  }

  /** Adds the download (or follows the one with its gid) and resolves with its length once complete. */
  async download(request: DownloadRequest, onProgress: (p: DownloadProgress) => void, signal: AbortSignal): Promise<number> {
    if (this.followers.has(request.gid)) throw new Error(`download ${request.gid} is followed already in this node`);
    await this.add(request);
    try {
      return await new Promise<number>((resolve, reject) => {
        this.followers.set(request.gid, { request, onProgress, resolve, reject });
        const abort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        if (signal.aborted) abort();
        signal.addEventListener('abort', abort, { once: true });
        this.wake?.();
      });
    } catch (err) {
      // Stopped (revoked, or the node shuts down): aria2 stops too; the partial file stays, and the
      // next attempt continues it.
      if (signal.aborted) await this.aria2.remove(request.gid).catch(() => undefined);
      throw err;
    } finally {
      this.followers.delete(request.gid);
    }
  }

  private async add(r: DownloadRequest): Promise<void> {
    // Only options computed by taskq reach aria2: the folder, a bare file name, the gid, a Referer.
    const options: Record<string, string> = { dir: r.dir, out: r.out, gid: r.gid, continue: 'true', 'allow-overwrite': 'false', 'auto-file-renaming': 'false', 'max-redirect': '5' };
    if (r.referer) options.referer = r.referer;
    try {
      await this.aria2.addUri([r.uri], options);
    } catch (err) {
      // A gid aria2 still knows: "not unique" while it runs, "No URI to download" once it finished.
      if (!/not unique|already|No URI to download/i.test((err as Error).message)) throw err;
      // Known to aria2: an active one is followed; a finished one is followed if its file is still
      // there (else it was moved into the store since: fetched again); a failed one is added again.
      const s = await this.aria2.tellStatus(r.gid, ['status']).catch(() => {
        throw err; // not a known gid after all: the original error stands
      });
      const redo = s.status === 'error' || s.status === 'removed' || (s.status === 'complete' && !existsSync(join(r.dir, r.out)));
      if (redo) {
        await this.aria2.removeDownloadResult(r.gid);
        await this.aria2.addUri([r.uri], options);
      } else if (s.status === 'paused') await this.aria2.call('unpause', r.gid);
    }
  }

  private async poll(): Promise<void> {
    const pollMs = this.options.pollMs ?? 500;
    while (!this.stopped) {
      if (this.followers.size) await this.check().catch((err: Error) => this.options.log.warn({ err: err.message }, 'aria2 status check failed; trying again'));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async check(): Promise<void> {
    const gids = [...this.followers.keys()];
    const answers = await this.aria2.multicall(gids.map((g) => ['aria2.tellStatus', g, STATUS_KEYS]));
    await Promise.all(answers.map((a, i) => this.settle(gids[i] as string, a)));
  }

  private async settle(gid: string, answer: unknown): Promise<void> {
    const f = this.followers.get(gid);
    if (!f) return;
    if (answer instanceof Aria2Error) {
      // Not known (an aria2c restarted before its session held it, or an external one restarted): add it again.
      if (/not found/i.test(answer.message)) await this.add(f.request).catch((err: Error) => f.reject(err));
      return;
    }
    const s = answer as Aria2Status;
    const completed = Number(s.completedLength);
    const total = Number(s.totalLength);
    const speed = Number(s.downloadSpeed);
    if (s.status === 'complete') return f.resolve(total);
    if (s.status === 'error' || s.status === 'removed') {
      await this.aria2.removeDownloadResult(gid).catch(() => undefined);
      const why = `aria2 could not download ${f.request.uri.slice(0, 300)}: ${s.errorMessage || s.status} (aria2 error ${s.errorCode ?? '-'})`;
      return f.reject(FOR_GOOD.has(s.errorCode ?? '') ? new UnrecoverableError(why) : new Error(why));
    }
    f.onProgress({ completed, total, speed, eta: speed > 0 && total > 0 ? Math.ceil((total - completed) / speed) : undefined });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.client?.close();
    await this.daemon?.stop();
  }

  /** For exit handlers, which cannot wait. */
  signalStop(): void {
    this.stopped = true;
    this.daemon?.signalStop();
  }
}
