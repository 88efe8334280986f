import { describe, expect, it } from 'vitest';
import { analyzePolicy, refusal } from '../../../src/tasks/analyze/policy.js';
import { classify, resourceId, resourceSize, resourceUrl } from '../../../src/tasks/analyze/resource.js';

describe('what a request is for', () => {
  it('by extension, or by the response Content-Type when it was seen', () => {
    expect(classify({ url: 'http://h/v/clip.MP4?x=1' })).toBe('progressive');
    expect(classify({ url: 'http://h/watch', response: { status: 206, contentType: 'video/webm' } })).toBe('progressive');
    expect(classify({ url: 'http://h/live/index.m3u8' })).toBe('hls');
    expect(classify({ url: 'http://h/p', response: { status: 200, contentType: 'application/vnd.apple.mpegURL; charset=utf-8' } })).toBe('hls');
    expect(classify({ url: 'http://h/manifest.mpd' })).toBe('dash');
    expect(classify({ url: 'http://h/seg/0001.ts' })).toBe('segment');
    expect(classify({ url: 'http://h/seg/chunk.m4s' })).toBe('segment');
    expect(classify({ url: 'http://h/index.html', response: { status: 200, contentType: 'text/html' } })).toBe('none');
    expect(classify({})).toBe('none');
  });

  it('one resource however many Range requests and cache-busters: volatile parameters dropped, the rest sorted', () => {
    const a = resourceUrl('http://h/v.mp4?sig=abc&range=0-1000&rn=3#t=10');
    const b = resourceUrl('http://h/v.mp4?rn=9&range=1001-2000&sig=abc');
    expect(a).toBe('http://h/v.mp4?sig=abc');
    expect(b).toBe(a);
    expect(resourceId(a)).toMatch(/^[0-9a-f]{32}$/);
    expect(resourceId(a)).toBe(resourceId(b));
    expect(resourceUrl('http://h/v.mp4?b=2&a=1', [])).toBe('http://h/v.mp4?a=1&b=2');
  });

  it('the full size from Content-Range, or a 200 Content-Length', () => {
    expect(resourceSize({ response: { status: 206, contentLength: 100, contentRange: 'bytes 0-99/123456' } })).toBe(123456);
    expect(resourceSize({ response: { status: 200, contentLength: 5000 } })).toBe(5000);
    expect(resourceSize({ response: { status: 206, contentLength: 100 } })).toBeUndefined();
    expect(resourceSize({})).toBeUndefined();
  });
});

describe('the analyze policy', () => {
  it('size bounds and host lists (subdomains match), from the environment', () => {
    const p = analyzePolicy({ TASKQ_ANALYZE_MIN_BYTES: '1000', TASKQ_ANALYZE_DENY_HOSTS: 'ads.example', TASKQ_ANALYZE_ALLOW_HOSTS: 'cdn.example, media.example' });
    expect(refusal(p, 'x.cdn.example', 5000)).toBeUndefined();
    expect(refusal(p, 'cdn.example', undefined)).toBeUndefined();
    expect(refusal(p, 'other.example', 5000)).toBe('host other.example is not allowed');
    expect(refusal(p, 'cdn.example', 10)).toBe('10 bytes is under the minimum 1000');
    expect(refusal({ ...p, allowHosts: [] }, 'track.ads.example', 5000)).toBe('host track.ads.example is denied');
    expect(() => analyzePolicy({ TASKQ_ANALYZE_MAX_BYTES: 'lots' })).toThrow('TASKQ_ANALYZE_MAX_BYTES="lots": expected a number of bytes');
  });
});
