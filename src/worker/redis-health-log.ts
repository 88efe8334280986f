/**
 * What a worker node says about its Redis: a connection lost and back (ioredis reconnects by itself),
 * and a Redis that keeps the connection open but stops answering (frozen, swamped), which nothing
 * else would notice.
 */
import type { Logger } from 'pino';
import { defaults } from '../defaults.js';
import type { ConnectionChange, Redis, RedisFactory } from '../broker/redis-factory.js';
import { watchSilence } from '../broker/silence-watch.js';

/** Logs until `signal` aborts. `client` is the one pinged for silence. */
export function logRedisHealth(factory: RedisFactory, client: Redis, log: Logger, signal: AbortSignal): void {
  const onConnection = (c: ConnectionChange): void => {
    if (c.change === 'lost') log.warn({ client: c.client }, 'connection to Redis lost; reconnecting (commands wait meanwhile)');
    else log.warn({ client: c.client, downMs: c.downMs }, `connection to Redis back after ${c.downMs} ms`);
  };
  factory.on('connection', onConnection);
  signal.addEventListener('abort', () => factory.off('connection', onConnection), { once: true });
  watchSilence({
    afterMs: defaults.redisSilenceMs,
    ping: () => client.ping(),
    connected: () => client.status === 'ready',
    silent: (ms) =>
      log.warn({ silentMs: ms }, `Redis has not answered for ${(ms / 1000).toFixed(1)} s with its connection open (frozen, swamped, or the network drops packets?); commands wait, running jobs go on`),
    answered: (ms) => log.warn({ silentMs: ms }, `Redis answers again after ${ms} ms`),
    signal,
  });
}
