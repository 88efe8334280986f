/**
 * Reads results and waits for them without polling: a waiter SUBSCRIBEs to the result's channel,
 * then reads the key (so a result stored in between is not missed), then sleeps until the worker's
 * PUBLISH or its timeout. One subscriber connection per process serves every waiter; after a
 * reconnect every waiter re-reads its key, since messages published during the outage are lost.
 */
import { once } from 'node:events';
import type { Redis } from '../broker/redis-factory.js';
import type { RedisFactory } from '../broker/redis-factory.js';
import type { Keys } from '../broker/keys.js';
import { parseResultRecord, type ResultRecord } from './result-record.js';
import { isReadyState } from './states.js';
import { asBroker } from '../broker/broker-errors.js';
import { runScript } from '../broker/scripts.js';
import type { AppConfig } from './config.js';
import { defaults } from '../defaults.js';

/** What a revocation found (see ResultStore.revoke). */
export type RevokeResult = 'SUCCESS' | 'FAILURE' | 'REVOKED' | 'STARTED' | 'TERMINATING' | 'REVOKED-NOW';

interface Waiter {
  wake: () => void;
}

export class ResultStore {
  private subscriber: Redis | undefined;
  private subscriberReady: Promise<Redis> | undefined;
  /** Per channel: its waiters, and the SUBSCRIBE every waiter awaits before reading the key. */
  private readonly waiters = new Map<string, { set: Set<Waiter>; subscribed: Promise<unknown> }>();

  constructor(
    private readonly factory: RedisFactory,
    private readonly keys: Keys,
    private readonly client: () => Promise<Redis>,
  ) {}

  async read(id: string): Promise<ResultRecord | undefined> {
    const client = await this.client();
    return parseResultRecord(await asBroker(`reading the result of ${id}`, () => client.get(this.keys.result(id))), id);
  }

  /**
   * Revokes a job (see revoke.lua): it never starts; with `terminate`, a running job is stopped.
   * Returns what the revocation found: SUCCESS / FAILURE / REVOKED (already over), STARTED (running,
   * left to finish), TERMINATING, or REVOKED-NOW.
   */
  async revoke(id: string, options: { terminate?: boolean; taskName?: string | undefined }, config: AppConfig): Promise<RevokeResult> {
    const client = await this.client();
    const k = this.keys;
    return (await asBroker(`revoking ${id}`, () => runScript(client, 'taskqRevoke', [k.revoked, k.result(id), k.events, k.queues], [
      id,
      `${k.prefix}:`,
      defaults.revokedMax,
      defaults.revokedTtlMs,
      config.resultExpiresMs,
      config.eventsMaxLen,
      config.events ? '1' : '0',
      options.terminate ? '1' : '0',
      k.control,
      options.taskName ? JSON.stringify(options.taskName) : '',
    ]))) as RevokeResult;
  }

  async forget(id: string): Promise<void> {
    const client = await this.client();
    await client.del(this.keys.result(id));
  }

  /**
   * Resolves with the record once it is ready (SUCCESS, FAILURE, REVOKED), or with the latest record
   * (possibly undefined) when `timeoutMs` passes or `signal` aborts. `timeoutMs` 0 = no limit.
   */
  async waitReady(id: string, timeoutMs: number, signal?: AbortSignal): Promise<{ record: ResultRecord | undefined; timedOut: boolean }> {
    const channel = this.keys.resultChannel(id);
    const sub = await this.subscribe();
    let wake!: () => void;
    let woken = new Promise<void>((r) => (wake = r));
    const waiter: Waiter = { wake: () => wake() };
    let entry = this.waiters.get(channel);
    if (!entry) {
      entry = { set: new Set(), subscribed: sub.subscribe(channel) };
      this.waiters.set(channel, entry);
    }
    const { set } = entry;
    set.add(waiter);
    // A second waiter on the id must not read before the subscription is active either, or a
    // PUBLISH in between would be missed.
    await entry.subscribed;
    let timer: NodeJS.Timeout | undefined;
    let expired = false;
    const expire = (): void => {
      expired = true;
      wake();
    };
    if (timeoutMs > 0) timer = setTimeout(expire, timeoutMs);
    if (signal?.aborted) expire();
    else signal?.addEventListener('abort', expire, { once: true });
    try {
      for (;;) {
        const record = await this.read(id);
        if (record && isReadyState(record.state)) return { record, timedOut: false };
        if (expired || signal?.aborted) return { record, timedOut: true };
        await woken;
        woken = new Promise<void>((r) => (wake = r));
      }
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', expire);
      set.delete(waiter);
      if (set.size === 0 && this.waiters.get(channel)?.set === set) {
        this.waiters.delete(channel);
        sub.unsubscribe(channel).catch(() => {});
      }
    }
  }

  private subscribe(): Promise<Redis> {
    this.subscriberReady ??= (async () => {
      const sub = this.factory.create('subscriber', 'results');
      sub.on('message', (channel: string) => {
        for (const w of this.waiters.get(channel)?.set ?? []) w.wake();
      });
      // After a reconnect, wake everyone: they re-read their key.
      sub.on('ready', () => {
        for (const { set } of this.waiters.values()) for (const w of set) w.wake();
      });
      sub.on('error', () => {}); // reconnects on its own; errors surface as timeouts to waiters
      await this.factory.connect(sub);
      this.subscriber = sub;
      return sub;
    })();
    return this.subscriberReady;
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    this.subscriberReady = undefined;
    for (const { set } of this.waiters.values()) for (const w of set) w.wake();
    if (sub) {
      sub.disconnect();
      await once(sub, 'end').catch(() => {});
    }
  }
}
