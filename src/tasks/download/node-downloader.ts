/** The download node's one Downloader (its aria2c, or the configured one), and task progress from it. */
import { join } from 'node:path';
import type { TaskContext } from '../../core/context.js';
import type { CacheSettings } from '../../download/cache-settings.js';
import { Downloader } from '../../download/downloader.js';
import { cacheDirs } from '../../download/store.js';

let downloader: Promise<Downloader> | undefined;

/** This process's downloader (its own aria2c, or the configured one), started on first use. */
export function downloaderFor(ctx: TaskContext, settings: CacheSettings): Promise<Downloader> {
  downloader ??= (async () => {
    const dirs = cacheDirs(settings.dir);
    // One aria2 state folder per node, inside the cache: sessions of two nodes never mix.
    const node = ctx.node.replace(/[^A-Za-z0-9_.@-]/g, '_');
    const d = new Downloader({ log: ctx.log, stateDir: join(settings.dir, 'aria2', node), downloadDir: dirs.incoming, ...(settings.aria2 ? { external: settings.aria2 } : {}) });
    await d.start();
    // An exit handler cannot wait: TERM aria2c (it saves its session on TERM).
    process.once('exit', () => d.signalStop());
    return d;
  })().catch((err: unknown) => {
    downloader = undefined;
    throw err;
  });
  return downloader;
}

/** Reports aria2's progress as the task's, at most once a second. */
export function progressReporter(ctx: TaskContext): (p: Record<string, unknown>) => void {
  let last = 0;
  return (p) => {
    if (Date.now() - last < 1000) return;
    last = Date.now();
    void ctx.progress(p).catch(() => undefined);
  };
}
