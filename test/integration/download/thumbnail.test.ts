/**
 * Thumbnails with the real ffmpeg, from the demo's generated videos: a JPEG 320 px wide from an MP4
 * and from an HLS segment; a file that is not a video fails with ffmpeg's reason and leaves nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { demoMedia } from '../../../src/demo/media.js';
import { makeThumbnail, ThumbnailError } from '../../../src/download/thumbnail.js';

/** A JPEG's width, from its SOF0 marker. */
function jpegWidth(b: Buffer): number {
  expect(b.subarray(0, 2).toString('hex')).toBe('ffd8');
  for (let i = 2; i < b.length; ) {
    const marker = b.readUInt16BE(i);
    if (marker >= 0xffc0 && marker <= 0xffc2) return b.readUInt16BE(i + 7);
    i += 2 + b.readUInt16BE(i + 2);
  }
  throw new Error('no SOF marker');
}

describe('thumbnails', () => {
  it('one frame, 320 px wide, from an MP4 and from an HLS segment; not a video: the reason, no file', async () => {
    const dir = mkdtempSync(`${tmpdir()}/taskq-thumb-`);
    await demoMedia(`${dir}/demo`);
    const thumbs = `${dir}/thumbs`;
    const fromMp4 = await makeThumbnail(`${dir}/demo/demo.mp4`, thumbs, 'a'.repeat(32));
    expect(fromMp4).toBe(`${thumbs}/${'a'.repeat(32)}.jpg`);
    expect(jpegWidth(readFileSync(fromMp4))).toBe(320);
    const fromTs = await makeThumbnail(`${dir}/demo/hls/seg000.ts`, thumbs, 'b'.repeat(32));
    expect(jpegWidth(readFileSync(fromTs))).toBe(320);

    writeFileSync(`${dir}/not-a-video.mp4`, 'just text');
    const err = await makeThumbnail(`${dir}/not-a-video.mp4`, thumbs, 'c'.repeat(32)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThumbnailError);
    expect((err as Error).message).toMatch(/^ffmpeg exited with 1: .*(Invalid data|moov atom not found)/);
    expect(readdirSync(thumbs).sort()).toEqual([`${'a'.repeat(32)}.jpg`, `${'b'.repeat(32)}.jpg`]);
  });
});
