import { describe, expect, it } from 'vitest';
import { parseDash, isoDurationS } from '../../../src/tasks/analyze/dash.js';
import { parseHls } from '../../../src/tasks/analyze/hls.js';

describe('HLS', () => {
  it('a master playlist: variants and renditions, resolved against the playlist URL', () => {
    const p = parseHls(
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio/en.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"\nlow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720\nhttps://cdn.example/hi/index.m3u8\n',
      'http://media.example/show/master.m3u8',
    );
    expect(p).toEqual({
      kind: 'master',
      variants: [
        { url: 'http://media.example/show/low/index.m3u8', bandwidth: 800000, resolution: '640x360' },
        { url: 'https://cdn.example/hi/index.m3u8', bandwidth: 2500000, resolution: '1280x720' },
      ],
      renditions: ['http://media.example/show/audio/en.m3u8'],
    });
  });

  it('a media playlist: segments with durations, byte ranges following on, the init map, keys, VOD or live', () => {
    const p = parseHls(
      '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"\n#EXT-X-KEY:METHOD=AES-128,URI="../keys/k1"\n#EXTINF:6.006,\n#EXT-X-BYTERANGE:1000@720\nmain.mp4\n#EXTINF:5.5,\n#EXT-X-BYTERANGE:2000\nmain.mp4\n#EXTINF:4,\n/abs/seg3.ts\n#EXT-X-ENDLIST\n',
      'http://media.example/v/1080/index.m3u8',
    );
    expect(p).toEqual({
      kind: 'media',
      init: { url: 'http://media.example/v/1080/init.mp4', byteRange: { length: 720, offset: 0 } },
      keys: ['http://media.example/v/keys/k1'],
      live: false,
      truncated: false,
      segments: [
        { url: 'http://media.example/v/1080/main.mp4', durationS: 6.006, byteRange: { length: 1000, offset: 720 } },
        { url: 'http://media.example/v/1080/main.mp4', durationS: 5.5, byteRange: { length: 2000, offset: 1720 } },
        { url: 'http://media.example/abs/seg3.ts', durationS: 4 },
      ],
    });
    expect(parseHls('#EXTM3U\n#EXTINF:2,\na.ts\n', 'http://h/p.m3u8')).toMatchObject({ live: true });
  });

  it('bounded, and not fooled by what is not a playlist', () => {
    const many = `#EXTM3U\n${Array.from({ length: 50 }, (_, i) => `#EXTINF:1,\ns${i}.ts`).join('\n')}\n`;
    expect(parseHls(many, 'http://h/p.m3u8', 10)).toMatchObject({ truncated: true, segments: { length: 10 } });
    expect(() => parseHls('<html>', 'http://h/p.m3u8')).toThrow('not an HLS playlist');
  });
});

describe('DASH', () => {
  const mpd = (body: string, attrs = 'mediaPresentationDuration="PT20S"') => `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" ${attrs}><BaseURL>https://cdn.example/vod/</BaseURL><Period>${body}</Period></MPD>`;

  it('SegmentTemplate with $Number$ over the presentation duration, $RepresentationID$, padded widths, init', () => {
    const reps = parseDash(
      mpd('<AdaptationSet mimeType="video/mp4"><SegmentTemplate timescale="1000" duration="4000" startNumber="1" initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/seg-$Number%05d$.m4s"/><Representation id="v720" bandwidth="2000000"/><Representation id="v360" bandwidth="600000"/></AdaptationSet>'),
      'http://origin.example/show/manifest.mpd',
    );
    expect(reps.map((r) => [r.id, r.init, r.segments.length, r.segments[0], r.segments.at(-1)])).toEqual([
      ['v720', 'https://cdn.example/vod/v720/init.mp4', 5, 'https://cdn.example/vod/v720/seg-00001.m4s', 'https://cdn.example/vod/v720/seg-00005.m4s'],
      ['v360', 'https://cdn.example/vod/v360/init.mp4', 5, 'https://cdn.example/vod/v360/seg-00001.m4s', 'https://cdn.example/vod/v360/seg-00005.m4s'],
    ]);
    expect(reps[0]).toMatchObject({ bandwidth: 2000000, mimeType: 'video/mp4' });
  });

  it('SegmentTimeline with $Time$ and repeats; SegmentBase (one file, fetched whole)', () => {
    const reps = parseDash(
      mpd('<AdaptationSet><Representation id="a1" bandwidth="128000"><SegmentTemplate timescale="48000" media="audio/$Time$.m4s" initialization="audio/init.m4s"><SegmentTimeline><S t="0" d="96000" r="2"/><S d="48000"/></SegmentTimeline></SegmentTemplate></Representation><Representation id="v1"><BaseURL>video/full.mp4</BaseURL><SegmentBase indexRange="800-1600"/></Representation></AdaptationSet>'),
      'http://origin.example/m.mpd',
    );
    expect(reps[0]?.segments).toEqual(['0', '96000', '192000', '288000'].map((t) => `https://cdn.example/vod/audio/${t}.m4s`));
    expect(reps[1]).toMatchObject({ id: 'v1', file: 'https://cdn.example/vod/video/full.mp4', segments: [] });
    expect(isoDurationS('PT1H2M3.5S')).toBe(3723.5);
  });

  it('not an MPD: an error that says so', () => {
    expect(() => parseDash('<html><body/></html>', 'http://h/m.mpd')).toThrow('not an MPD (no <MPD> element)');
  });
});
