/**
 * The cache's index in Redis: what is cached, where, how big, how often served. Each change is one
 * Lua script, so the entry, the LRU order, the total size and the URL lookup never disagree (a
 * half-written entry cannot exist: an entry is added whole, after its file is in the store).
 *   <prefix>:cache:<id>     HASH  id, url, kind, file, size, contentType, sha256, hits, lastAccess, cachedAt, thumbnail
 *   <prefix>:cache:index    ZSET  id by last access (ms): eviction takes the lowest
 *   <prefix>:cache:bytes    STRING the sum of the entries' sizes
 *   <prefix>:cache:urls     HASH  original URL → id
 *   <prefix>:cache:hits     STRING every hit counted since the cache began (for /metrics)
 */
import type { Redis } from 'ioredis';

export interface CacheEntry {
  id: string;
  url: string;
  /** progressive: one file; hls / dash: a folder holding a local playlist and its parts. */
  kind: 'progressive' | 'hls' | 'dash';
  /** Absolute path of the file (progressive) or folder (hls, dash) in the store. */
  file: string;
  size: number;
  contentType: string;
  /** Of the file; for a folder, of its manifest of part hashes (download/parts.ts). */
  sha256: string;
  hits: number;
  lastAccess: number;
  cachedAt: number;
  /** A thumbnail exists (`<cache>/thumbs/<id>.jpg`, served at /t/<id>.jpg). */
  thumbnail?: boolean;
}

const PUT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4, #ARGV - 1))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('INCRBY', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[#ARGV], ARGV[1])
return 1`;

const REMOVE = `
local size = redis.call('HGET', KEYS[1], 'size')
if not size then return false end
local url = redis.call('HGET', KEYS[1], 'url')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DECRBY', KEYS[3], size)
if url and redis.call('HGET', KEYS[4], url) == ARGV[1] then redis.call('HDEL', KEYS[4], url) end
return size`;

const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'hits', 1)
redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'lastAccess', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1`;

const THUMB = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'thumbnail', '1') end return 0`;

function parse(h: Record<string, string>): CacheEntry | undefined {
  if (!h.id || !h.file) return undefined;
  return {
    id: h.id,
    url: h.url ?? '',
    kind: (h.kind as CacheEntry['kind']) ?? 'progressive',
    file: h.file,
    size: Number(h.size),
    contentType: h.contentType ?? '',
    sha256: h.sha256 ?? '',
    hits: Number(h.hits ?? 0),
    lastAccess: Number(h.lastAccess ?? 0),
    cachedAt: Number(h.cachedAt ?? 0),
    ...(h.thumbnail === '1' ? { thumbnail: true } : {}),
  };
}

export class CacheIndex {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:cache:${id}`;
  }

  private get shared(): [index: string, bytes: string, urls: string] {
    return [`${this.prefix}:cache:index`, `${this.prefix}:cache:bytes`, `${this.prefix}:cache:urls`];
  }

  /** Adds an entry whose file is already in the store. False when the id is indexed already. */
  async put(entry: Omit<CacheEntry, 'hits' | 'lastAccess' | 'cachedAt'>, now = Date.now()): Promise<boolean> {
    const fields = Object.entries({ ...entry, hits: 0, lastAccess: now, cachedAt: now }).flatMap(([k, v]) => [k, String(v)]);
    // The URL goes last: the script reads it from there for the URL lookup.
    const added = await this.redis.eval(PUT, 4, this.key(entry.id), ...this.shared, entry.id, now, entry.size, ...fields, entry.url);
    return added === 1;
  }

  async get(id: string): Promise<CacheEntry | undefined> {
    return parse(await this.redis.hgetall(this.key(id)));
  }

  async has(id: string): Promise<boolean> {
    return (await this.redis.exists(this.key(id))) === 1;
  }

  /** The entry cached for this exact URL (as the request carried it). */
  async byUrl(url: string): Promise<CacheEntry | undefined> {
    const id = await this.redis.hget(this.shared[2], url);
    return id ? this.get(id) : undefined;
  }

  /** Counts a hit and moves the entry to the young end of the LRU order. */
  async touch(id: string, now = Date.now()): Promise<void> {
    await this.redis.eval(TOUCH, 3, this.key(id), this.shared[0], `${this.prefix}:cache:hits`, id, now);
  }

  /** Marks that the entry has a thumbnail (nothing when it was removed meanwhile). */
  async setThumbnail(id: string): Promise<void> {
    await this.redis.eval(THUMB, 1, this.key(id));
  }

  /** Removes an entry from the index; its size if it was there. The caller deletes the file after. */
  async remove(id: string): Promise<number | undefined> {
    const size = await this.redis.eval(REMOVE, 4, this.key(id), ...this.shared, id);
    return size === null ? undefined : Number(size);
  }

  async totalBytes(): Promise<number> {
    return Number((await this.redis.get(this.shared[1])) ?? 0);
  }

  /** Hits served since the cache began (entries removed since included). */
  async hitsTotal(): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}:cache:hits`)) ?? 0);
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.shared[0]);
  }

  /** Entries by last access: the most recent first, or with `oldest`, the least recent first. */
  async list(options: { limit?: number; oldest?: boolean } = {}): Promise<CacheEntry[]> {
    const stop = (options.limit ?? 1000) - 1;
    const ids = options.oldest ? await this.redis.zrange(this.shared[0], '0', String(stop)) : await this.redis.zrevrange(this.shared[0], 0, stop);
    if (!ids.length) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.key(id));
    const rows = (await pipe.exec()) ?? [];
    return rows.map(([, h]) => parse(h as Record<string, string>)).filter((e): e is CacheEntry => e !== undefined);
  }
}
