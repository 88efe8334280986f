import { describe, expect, it } from 'vitest';
import { requestUrl } from '../../../src/capture/url.js';
import type { RequestHead } from '../../../src/capture/http1-parser.js';

const head = (target: string, headers: Record<string, string> = {}, version: '1.0' | '1.1' = '1.1'): RequestHead => ({ method: 'GET', target, version, headers });
const server = { address: '192.0.2.7', port: 80 };

describe('request URLs, normalised and bounded', () => {
  it('origin-form with Host; absolute-form (proxies); non-default ports; default ports dropped', () => {
    expect(requestUrl(head('/v/a.mp4?x=1#frag', { host: 'Media.Example' }), server)).toEqual({ url: 'http://media.example/v/a.mp4?x=1', host: 'media.example' });
    expect(requestUrl(head('http://cdn.example:80/seg/1.ts'), server)).toEqual({ url: 'http://cdn.example/seg/1.ts', host: 'cdn.example' });
    expect(requestUrl(head('/a', { host: 'cdn.example:8080' }), server)).toMatchObject({ url: 'http://cdn.example:8080/a' });
  });

  it('HTTP/1.0 without Host: the server address and port, IPv6 in brackets', () => {
    expect(requestUrl(head('/old', {}, '1.0'), server)).toEqual({ url: 'http://192.0.2.7/old', host: '192.0.2.7' });
    expect(requestUrl(head('/old', {}, '1.0'), { address: '2001:db8::7', port: 8000 })).toEqual({ url: 'http://[2001:db8::7]:8000/old', host: '2001:db8::7' });
  });

  it('hostile targets: bounded, encoded, resolved, or refused with a reason', () => {
    expect(requestUrl(head('/' + 'a'.repeat(100_000), { host: 'h' }), server)).toEqual({ problem: 'target longer than 8192 characters' });
    expect(requestUrl(head('/caf\xe9/\x01x', { host: 'h' }), server)).toMatchObject({ url: 'http://h/caf%E9/%01x' });
    expect(requestUrl(head('/a/../../etc/passwd', { host: 'h' }), server)).toMatchObject({ url: 'http://h/etc/passwd' });
    expect(requestUrl(head('/a%2Fb', { host: 'h' }), server)).toMatchObject({ url: 'http://h/a%2Fb' });
    expect(requestUrl(head('ftp://h/x'), server)).toEqual({ problem: 'scheme ftp is not http or https' });
    expect(requestUrl(head('javascript:alert(1)'), server)).toMatchObject({ problem: expect.any(String) });
    expect(requestUrl(head('/x', { host: 'evil host/../' }), server)).toEqual({ problem: 'Host header is not a host name or address' });
    expect(requestUrl(head('*'), server)).toEqual({ problem: 'asterisk-form (OPTIONS *)' });
  });
});
