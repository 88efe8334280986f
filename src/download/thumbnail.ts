/**
 * Thumbnails of cached videos for the web UI: one JPEG frame (320 px wide) taken by ffmpeg (Debian's
 * package) from a second in, or from the start of a shorter video. Written beside the store, in
 * `<cache>/thumbs/<id>.jpg`, through a temporary name: a half-written thumbnail is never seen.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inside } from './store.js';

export class ThumbnailError extends Error {}

/** Runs ffmpeg once; rejects with the end of its stderr. */
async function ffmpeg(args: string[], signal: AbortSignal): Promise<void> {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'pipe'], signal });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const [code] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(([err]) => Promise.reject(err as Error))])) as [number | null];
  if (code !== 0) throw new ThumbnailError(`ffmpeg exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no reason given'}`);
}

/** The thumbnails folder of a cache. */
export function thumbsDir(cacheDir: string): string {
  return join(cacheDir, 'thumbs');
}

/**
 * Makes `<thumbs>/<id>.jpg` from `video` (a file ffmpeg reads: an MP4, a TS segment). Returns its path.
 * `timeoutMs` bounds ffmpeg (default 20 s).
 */
export async function makeThumbnail(video: string, thumbs: string, id: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
  mkdirSync(thumbs, { recursive: true });
  const out = inside(thumbs, `${id}.jpg`);
  const tmp = inside(thumbs, `.${id}.tmp.jpg`);
  const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? 20_000), ...(options.signal ? [options.signal] : [])]);
  const frame = (at: string): string[] => ['-ss', at, '-i', video, '-frames:v', '1', '-vf', 'scale=320:-2', '-q:v', '4', '-f', 'image2', '-y', tmp];
  try {
    await ffmpeg(frame('1'), signal);
    // A video shorter than a second gives no frame there: take the first.
    if (!statSync(tmp, { throwIfNoEntry: false })?.size) await ffmpeg(frame('0'), signal);
    if (!statSync(tmp, { throwIfNoEntry: false })?.size) throw new ThumbnailError('ffmpeg found no video frame');
    renameSync(tmp, out);
    return out;
  } catch (err) {
    rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ThumbnailError('ffmpeg is not installed (apt-get install ffmpeg)');
    if ((err as Error).name === 'AbortError') throw new ThumbnailError(`ffmpeg took longer than ${(options.timeoutMs ?? 20_000) / 1000} s`);
    throw err;
  }
}
