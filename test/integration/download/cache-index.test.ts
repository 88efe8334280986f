/**
 * The cache index on a real Redis: entries added whole and once, found by id and URL, hits and LRU
 * order kept, totals that always agree with the entries; eviction removes the least recently served
 * first, only inside the store.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CacheIndex, type CacheEntry } from '../../../src/download/cache-index.js';
import { evict, removeEntry } from '../../../src/download/eviction.js';
import { testApp } from '../../helpers/apps.js';

const id = (n: number): string => n.toString(16).padStart(32, '0');

async function setup(): Promise<{ index: CacheIndex; store: string; add: (n: number, size: number, at: number) => Promise<Omit<CacheEntry, 'hits' | 'lastAccess' | 'cachedAt'>> }> {
  const app = testApp();
  const index = new CacheIndex(await app.client(), app.keys.prefix);
  const store = `${mkdtempSync(`${tmpdir()}/taskq-store-`)}/store`;
  mkdirSync(store);
  const add = async (n: number, size: number, at: number) => {
    const file = `${store}/${id(n)}.mp4`;
    writeFileSync(file, Buffer.alloc(size));
    const entry = { id: id(n), url: `http://origin.test/v${n}.mp4`, kind: 'progressive' as const, file, size, contentType: 'video/mp4', sha256: 'ab'.repeat(32) };
    expect(await index.put(entry, at)).toBe(true);
    return entry;
  };
  return { index, store, add };
}

describe('the cache index', () => {
  it('adds an entry once, finds it by id and by URL, counts hits and keeps the total', async () => {
    const { index, add } = await setup();
    const e = await add(1, 1000, 1_000);
    expect(await index.put(e, 2_000)).toBe(false); // already there: nothing doubles
    expect(await index.totalBytes()).toBe(1000);
    expect(await index.get(e.id)).toEqual({ ...e, hits: 0, lastAccess: 1_000, cachedAt: 1_000 });
    expect((await index.byUrl(e.url))?.id).toBe(e.id);
    await index.touch(e.id, 5_000);
    await index.touch(e.id, 6_000);
    expect(await index.get(e.id)).toMatchObject({ hits: 2, lastAccess: 6_000 });
    await index.touch(id(99), 7_000); // not cached: touching creates nothing
    expect(await index.get(id(99))).toBeUndefined();
    expect(await index.count()).toBe(1);
    expect(await index.remove(e.id)).toBe(1000);
    expect(await index.remove(e.id)).toBeUndefined();
    expect([await index.totalBytes(), await index.count(), await index.byUrl(e.url)]).toEqual([0, 0, undefined]);
  });

  it('evicts the least recently served first, down to the limit, and deletes their files', async () => {
    const { index, store, add } = await setup();
    const a = await add(1, 400, 1_000);
    const b = await add(2, 400, 2_000);
    const c = await add(3, 400, 3_000);
    await index.touch(a.id, 4_000); // a was served last: b is now the oldest
    expect((await index.list({ oldest: true })).map((e) => e.id)).toEqual([b.id, c.id, a.id]);
    const r = await evict(index, store, 900);
    expect(r).toEqual({ removed: [{ id: b.id, url: b.url, size: 400 }], freed: 400, bytes: 800 });
    expect([existsSync(a.file), existsSync(b.file), existsSync(c.file)]).toEqual([true, false, true]);
    // Room for a 500-byte download: c then a go; a kept entry is passed over.
    const r2 = await evict(index, store, 900, { room: 500, keep: new Set([c.id]) });
    expect(r2.removed.map((e) => e.id)).toEqual([a.id]);
    expect(r2.bytes).toBe(400);
  });

  it("removes only inside the store, whatever path the index holds", async () => {
    const { index, store, add } = await setup();
    const outside = `${mkdtempSync(`${tmpdir()}/taskq-outside-`)}/${id(5)}.mp4`;
    writeFileSync(outside, 'precious');
    const e = await add(5, 10, 1_000);
    // An index entry rewritten to point outside the store (by hand, or a hostile writer).
    expect(await removeEntry(index, store, { ...e, file: outside, hits: 0, lastAccess: 0, cachedAt: 0 })).toBe(true);
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(e.file)).toBe(false);
  });
});
