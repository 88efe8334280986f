import { describe, expect, it } from 'vitest';
import { localDash } from '../../../src/download/dash-local.js';
import { localHls } from '../../../src/download/hls-local.js';

const BASE = 'https://cdn.example/vod/movie/index.m3u8';

describe('an HLS playlist made local', () => {
  it('names every segment, init segment and key, and points the playlist at them, timing kept', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k?id=1",IV=0x1',
      '#EXTINF:4.0,',
      'seg/0.m4s?token=abc',
      '#EXTINF:3.5,',
      '/other/1.m4s',
      '#EXT-X-KEY:METHOD=NONE',
      '#EXTINF:2,',
      'https://cdn2.example/2',
      '#EXT-X-ENDLIST',
    ].join('\n');
    const local = localHls(text, BASE);
    expect(local.files).toEqual([
      { url: 'https://cdn.example/vod/movie/init.mp4', name: 'init.mp4' },
      { url: 'https://keys.example/k?id=1', name: 'key0.key' },
      { url: 'https://cdn.example/vod/movie/seg/0.m4s?token=abc', name: 's00000.m4s' },
      { url: 'https://cdn.example/other/1.m4s', name: 's00001.m4s' },
      { url: 'https://cdn2.example/2', name: 's00002.ts' },
    ]);
    expect(local.text.split('\n')).toEqual([
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXT-X-KEY:METHOD=AES-128,URI="key0.key",IV=0x1',
      '#EXTINF:4.0,',
      's00000.m4s',
      '#EXTINF:3.5,',
      's00001.m4s',
      '#EXT-X-KEY:METHOD=NONE',
      '#EXTINF:2,',
      's00002.ts',
      '#EXT-X-ENDLIST',
    ]);
  });

  it('byte ranges of one file share its copy', () => {
    const text = '#EXTM3U\n#EXTINF:4,\n#EXT-X-BYTERANGE:1000@0\nall.ts\n#EXTINF:4,\n#EXT-X-BYTERANGE:1000\nall.ts\n#EXT-X-ENDLIST\n';
    const local = localHls(text, BASE);
    expect(local.files).toEqual([{ url: 'https://cdn.example/vod/movie/all.ts', name: 's00000.ts' }]);
    expect(local.text).toBe('#EXTM3U\n#EXTINF:4,\n#EXT-X-BYTERANGE:1000@0\ns00000.ts\n#EXTINF:4,\n#EXT-X-BYTERANGE:1000\ns00000.ts\n#EXT-X-ENDLIST\n');
  });

  it('refuses what cannot be a cached unit, saying why', () => {
    expect(() => localHls('#EXTM3U\n#EXTINF:4,\na.ts\n', BASE)).toThrow('a live playlist (no #EXT-X-ENDLIST)');
    expect(() => localHls('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n', BASE)).toThrow('a master playlist');
    expect(() => localHls('#EXTM3U\n#EXTINF:4,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n', BASE)).toThrow('a segment at file:///etc/passwd: only http and https parts are fetched');
    expect(() => localHls('#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="ftp://h/k"\n#EXTINF:4,\na.ts\n#EXT-X-ENDLIST\n', BASE)).toThrow('a key at ftp://h/k');
    expect(() => localHls('#EXTM3U\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n#EXT-X-ENDLIST\n', BASE, 1)).toThrow('more than 1 segments');
  });
});

describe('a DASH Representation made local', () => {
  const mpd = `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S">
  <BaseURL>https://cdn.example/vod/</BaseURL>
  <Period>
    <AdaptationSet mimeType="video/mp4">
      <SegmentTemplate timescale="1" duration="4" startNumber="1" media="video/$RepresentationID$/chunk-$Number%03d$.m4s" initialization="video/$RepresentationID$/init.mp4"/>
      <Representation id="v720" bandwidth="3000000"/>
      <Representation id="v360" bandwidth="800000"/>
    </AdaptationSet>
    <AdaptationSet mimeType="audio/mp4">
      <Representation id="a1" bandwidth="128000"><BaseURL>audio/a1.mp4</BaseURL><SegmentBase indexRange="0-99"/></Representation>
    </AdaptationSet>
  </Period>
</MPD>`;

  it('keeps the chosen Representation, its template reduced to local names', () => {
    const local = localDash(mpd, 'https://cdn.example/m.mpd', 'v360');
    expect(local.files).toEqual([
      { url: 'https://cdn.example/vod/video/v360/init.mp4', name: 'init.mp4' },
      { url: 'https://cdn.example/vod/video/v360/chunk-001.m4s', name: 'chunk-001.m4s' },
      { url: 'https://cdn.example/vod/video/v360/chunk-002.m4s', name: 'chunk-002.m4s' },
    ]);
    expect(local.text).toContain('media="chunk-$Number%03d$.m4s" initialization="init.mp4"');
    expect(local.text).toContain('<Representation id="v360" bandwidth="800000"/>');
    expect(local.text).not.toMatch(/v720|a1|BaseURL|audio/);
  });

  it('a single-file Representation points at its local copy', () => {
    const local = localDash(mpd, 'https://cdn.example/m.mpd', 'a1');
    expect(local.files).toEqual([{ url: 'https://cdn.example/vod/audio/a1.mp4', name: 'a1.mp4' }]);
    expect(local.text).toContain('<Representation id="a1" bandwidth="128000"><BaseURL>a1.mp4</BaseURL><SegmentBase indexRange="0-99"/></Representation>');
    expect(local.text).not.toMatch(/v720|v360|video\//);
  });

  it('refuses live manifests and unknown Representations', () => {
    expect(() => localDash(mpd.replace('type="static"', 'type="dynamic"'), 'https://cdn.example/m.mpd')).toThrow('a live manifest');
    expect(() => localDash(mpd, 'https://cdn.example/m.mpd', 'v4k')).toThrow('no Representation "v4k"');
  });
});
