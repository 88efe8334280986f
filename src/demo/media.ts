/**
 * The demo's videos, generated once by ffmpeg into a folder: `demo.mp4` (8 s of a test pattern and a
 * tone, H.264 and AAC) and an HLS set cut from it (`hls/index.m3u8`, 2 s segments). Regenerated only
 * when missing.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { OriginFile } from './origin.js';

async function ffmpeg(args: string[]): Promise<void> {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(([err]) => Promise.reject(err as Error))])) as [number | null];
  if (code !== 0) throw new Error(`ffmpeg ${args.slice(0, 4).join(' ')}… exited with ${code}: ${stderr.trim().slice(-500)}`);
}

/** Generates the demo videos in `dir` unless they are there; returns the origin's files. */
export async function demoMedia(dir: string): Promise<Record<string, OriginFile>> {
  const mp4 = join(dir, 'demo.mp4');
  const hls = join(dir, 'hls');
  if (!existsSync(mp4) || !existsSync(join(hls, 'index.m3u8'))) {
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, '.demo.tmp.mp4');
    try {
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart', '-f', 'mp4', tmp]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the demo needs ffmpeg to make its videos: apt-get install ffmpeg (npm start installs it)');
      throw err;
    }
    renameSync(tmp, mp4);
    rmSync(hls, { recursive: true, force: true });
    mkdirSync(hls);
    await ffmpeg(['-i', mp4, '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_filename', join(hls, 'seg%03d.ts'), join(hls, 'index.m3u8')]);
  }
  const files: Record<string, OriginFile> = { '/demo.mp4': { body: readFileSync(mp4), type: 'video/mp4' } };
  for (const f of readdirSync(hls)) files[`/hls/${f}`] = { body: readFileSync(join(hls, f)), type: f.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' };
  return files;
}
