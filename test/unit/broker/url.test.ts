import { describe, expect, it } from 'vitest';
import { maskPassword, parseBrokerUrl } from '../../../src/broker/url.js';
import { ConfigError } from '../../../src/errors.js';
import { thrown } from '../../helpers/thrown.js';

function configError(url: string): ConfigError {
  const err = thrown(() => parseBrokerUrl(url));
  expect(err).toBeInstanceOf(ConfigError);
  const e = err as ConfigError;
  expect(e.code).toBe('TASKQ_BROKER_URL_INVALID');
  expect(e.exitCode).toBe(78);
  return e;
}

describe('parseBrokerUrl: redis:// and rediss://', () => {
  it('defaults port 6379 and db 0', () => {
    expect(parseBrokerUrl('redis://localhost')).toEqual({
      options: { host: 'localhost', port: 6379, db: 0 },
      display: 'redis://localhost',
    });
  });

  it('reads host, port and db from the path', () => {
    expect(parseBrokerUrl('redis://10.0.0.5:6380/7').options).toEqual({ host: '10.0.0.5', port: 6380, db: 7 });
  });

  it('reads the db from ?db= when the path has none', () => {
    expect(parseBrokerUrl('redis://h?db=4').options).toEqual({ host: 'h', port: 6379, db: 4 });
  });

  it('takes user and password, decoding them, and masks the password in display', () => {
    const t = parseBrokerUrl('redis://alice:s%3Acret@h:6390/1');
    expect(t.options).toEqual({ host: 'h', port: 6390, db: 1, username: 'alice', password: 's:cret' });
    expect(t.display).toBe('redis://alice:***@h:6390/1');
  });

  it('takes a password without a user', () => {
    const t = parseBrokerUrl('redis://:hunter2@h/0');
    expect(t.options).toEqual({ host: 'h', port: 6379, db: 0, password: 'hunter2' });
    expect(t.options.username).toBeUndefined();
    expect(t.display).toBe('redis://:***@h/0');
  });

  it('takes the password from ?password= and masks it', () => {
    const t = parseBrokerUrl('redis://h/2?password=topsecret');
    expect(t.options).toEqual({ host: 'h', port: 6379, db: 2, password: 'topsecret' });
    expect(t.display).toBe('redis://h/2?password=***');
  });

  it('strips the brackets of an IPv6 literal', () => {
    expect(parseBrokerUrl('redis://[::1]:6381/3').options).toEqual({ host: '::1', port: 6381, db: 3 });
  });

  it('rediss:// adds TLS with the host as servername', () => {
    expect(parseBrokerUrl('rediss://:pw@cache.example.com:6380').options).toEqual({
      host: 'cache.example.com',
      port: 6380,
      db: 0,
      password: 'pw',
      tls: { servername: 'cache.example.com' },
    });
  });

  it('rediss:// to an IP address sets no TLS servername (RFC 6066 forbids IP addresses in SNI)', () => {
    // Node warns (DEP0123) when servername is an IP address.
    for (const url of ['rediss://127.0.0.1:6380', 'rediss://[::1]:6380']) {
      const tls = parseBrokerUrl(url).options.tls;
      expect(tls).toBeDefined();
      expect(tls?.servername).toBeUndefined();
    }
  });
});

describe('parseBrokerUrl: unix sockets', () => {
  it('unix:// takes the path, ?db= and ?password=', () => {
    const t = parseBrokerUrl('unix:///var/run/redis.sock?db=2&password=s3cr3t');
    expect(t.options).toEqual({ path: '/var/run/redis.sock', db: 2, password: 's3cr3t' });
    expect(t.display).toBe('unix:///var/run/redis.sock?db=2&password=***');
    expect(t.display).not.toContain('s3cr3t');
  });

  it('redis+socket:// is the same, db 0 by default', () => {
    expect(parseBrokerUrl('redis+socket:///tmp/redis.sock').options).toEqual({ path: '/tmp/redis.sock', db: 0 });
  });

  it('decodes the socket path', () => {
    expect(parseBrokerUrl('unix:///tmp/my%20redis.sock').options.path).toBe('/tmp/my redis.sock');
  });

  it('rejects a socket URL without a path', () => {
    expect(configError('unix://').message).toContain('no socket path');
    expect(configError('unix:///').message).toContain('no socket path');
  });

  it('rejects a bad ?db= on a socket', () => {
    expect(configError('unix:///tmp/r.sock?db=x').message).toContain('database "x" is not a non-negative integer');
  });
});

describe('parseBrokerUrl: errors', () => {
  it('rejects an unsupported scheme, naming it', () => {
    const e = configError('http://h:6379');
    expect(e.message).toContain('unsupported scheme "http"');
    expect(e.message).toContain('invalid broker URL "http://h:6379"');
  });

  it('rejects a database that is not a non-negative integer, naming it', () => {
    expect(configError('redis://h/abc').message).toContain('database "abc" is not a non-negative integer');
    expect(configError('redis://h/-1').message).toContain('database "-1"');
    expect(configError('redis://h/1.5').message).toContain('database "1.5"');
    expect(configError('redis://h?db=two').message).toContain('database "two"');
  });

  it('rejects a URL without a host', () => {
    expect(configError('redis:///0').message).toContain('no host');
    expect(configError('redis://').message).toContain('no host');
  });

  it('rejects what is not a URL, keeping the cause', () => {
    const e = configError('localhost:6379');
    expect(e.message).toContain('unsupported scheme "localhost"');
    const notUrl = configError('not a url');
    expect(notUrl.message).toContain('"not a url": not a URL');
    expect(notUrl.cause).toBeInstanceOf(TypeError);
  });

  it('masks the password in the error message', () => {
    const e = configError('redis://:hunter2@h/abc');
    expect(e.message).toContain('"redis://:***@h/abc"');
    expect(e.message).not.toContain('hunter2');
  });

  it('never shows any part of a password containing "/" in the error message', () => {
    const e = configError('redis://user:pa/ss@h');
    expect(e.message).not.toContain('pa/ss');
    expect(e.message).not.toContain('ss@h');
  });
});

describe('display never contains the password', () => {
  it('hides a password containing an unencoded "@" (URL takes the last @ as the separator)', () => {
    const t = parseBrokerUrl('redis://:p@ssword@h:6379/0');
    expect(t.options.password).toBe('p@ssword');
    expect(t.display).not.toContain('ssword');
    expect(t.display).toBe('redis://:***@h:6379/0');
  });

  it('hides both the userinfo and the query password', () => {
    const t = parseBrokerUrl('rediss://bob:one@h/0?password=two');
    expect(t.options.password).toBe('one');
    expect(t.display).toBe('rediss://bob:***@h/0?password=***');
  });
});

describe('maskPassword', () => {
  it('leaves URLs without a password unchanged', () => {
    expect(maskPassword('redis://h:6379/0')).toBe('redis://h:6379/0');
    expect(maskPassword('redis://[::1]:6379/0')).toBe('redis://[::1]:6379/0');
    expect(maskPassword('redis://user@h')).toBe('redis://user@h');
  });

  it('masks userinfo and ?password= / &password=, case-insensitively', () => {
    expect(maskPassword('REDIS://u:x@h')).toBe('REDIS://u:***@h');
    expect(maskPassword('unix:///s?db=1&PASSWORD=x&y=2')).toBe('unix:///s?db=1&PASSWORD=***&y=2');
    expect(maskPassword('redis://:x@[::1]:6380')).toBe('redis://:***@[::1]:6380');
  });
});
