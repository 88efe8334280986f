/**
 * `schedule.evictCache` (q_schedule, beat entry `evict-cache`): removes the least recently served cache
 * entries until the cache is within TASKQ_CACHE_MAX_BYTES. Downloads also make room before they land;
 * this keeps the limit when it is lowered or entries were added by hand.
 */
import type { App } from '../../core/app.js';
import { CacheIndex } from '../../download/cache-index.js';
import { cacheSettings } from '../../download/cache-settings.js';
import { evict, type Evicted } from '../../download/eviction.js';
import { cacheDirs } from '../../download/store.js';

export function registerEvictCache(app: App): void {
  app.task('schedule.evictCache', async (): Promise<Evicted & { maxBytes: number }> => {
    const settings = cacheSettings();
    const r = await evict(new CacheIndex(await app.client(), app.keys.prefix), cacheDirs(settings.dir).store, settings.maxBytes);
    return { ...r, maxBytes: settings.maxBytes };
  });
}
