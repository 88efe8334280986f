import { describe, expect, it } from 'vitest';
import { cacheSettings, parseSize } from '../../../src/download/cache-settings.js';
import { defaults } from '../../../src/defaults.js';

describe('cache settings', () => {
  it('reads sizes in bytes or with a unit', () => {
    expect([parseSize('1048576'), parseSize('500M'), parseSize('10G'), parseSize('1.5k'), parseSize('2GiB')]).toEqual([1048576, 500 * 1024 ** 2, 10 * 1024 ** 3, 1536, 2 * 1024 ** 3]);
    expect([parseSize('0'), parseSize('-1'), parseSize('ten'), parseSize('5X')]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('defaults to loopback, the default port and a folder under the working directory', () => {
    expect(cacheSettings({}, '/srv/app')).toEqual({ dir: `/srv/app/${defaults.cacheDir}`, maxBytes: defaults.cacheMaxBytes, host: '127.0.0.1', port: defaults.cachePort, leaseMs: defaults.downloadLeaseMs });
    expect(cacheSettings({ TASKQ_CACHE_DIR: '/var/cache/taskq', TASKQ_CACHE_MAX_BYTES: '2G', TASKQ_CACHE_PORT: '0' }, '/srv')).toMatchObject({ dir: '/var/cache/taskq', maxBytes: 2 * 1024 ** 3, port: 0 });
  });

  it('names the variable and what it expected', () => {
    expect(() => cacheSettings({ TASKQ_CACHE_MAX_BYTES: 'lots' })).toThrow('TASKQ_CACHE_MAX_BYTES="lots": expected a size in bytes, or with K, M, G or T (e.g. 500M, 10G)');
    expect(() => cacheSettings({ TASKQ_CACHE_PORT: '70000' })).toThrow('TASKQ_CACHE_PORT="70000": expected a TCP port');
  });
});

describe('a configured aria2', () => {
  it('is read from TASKQ_ARIA2_URL and must have a secret', () => {
    expect(cacheSettings({ TASKQ_ARIA2_URL: 'http://127.0.0.1:6800/jsonrpc', TASKQ_ARIA2_SECRET: 's3' }).aria2).toEqual({ host: '127.0.0.1', port: 6800, secret: 's3' });
    expect(() => cacheSettings({ TASKQ_ARIA2_URL: 'http://127.0.0.1:6800/jsonrpc' })).toThrow('TASKQ_ARIA2_URL is set but TASKQ_ARIA2_SECRET is not');
    expect(() => cacheSettings({ TASKQ_ARIA2_URL: 'https://h/x', TASKQ_ARIA2_SECRET: 's' })).toThrow('expected http://<host>:<port>/jsonrpc');
  });
});
