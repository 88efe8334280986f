/**
 * A beat process: any number may run, on any hosts. One leads, through a Redis lease it renews every
 * third of its length; the others stand by and take the lease when it runs out (a leader that stops
 * gives it up at once). The leader sleeps until the next slot of any entry — its own timer, on Redis's
 * clock (TIME), not this host's — and sends each due slot with beat-fire.lua: claiming the slot,
 * fenced by the lease, and storing the job in one atomic step, so no slot is ever sent twice, by one
 * leader or two. Slots missed while no beat ran follow each entry's catchUp.
 *
 * Events: 'leader' (boolean), 'fired' ({entry, slot, id, code}). Errors are logged, never thrown from
 * the loop: with Redis away the beat waits, retries, and says so once.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ConnectionChange, Redis } from '../broker/redis-factory.js';
import { defineScripts, runScript } from '../broker/scripts.js';
import type { App } from '../core/app.js';
import { kwargsTail } from '../core/producer.js';
import { JobTemplate } from '../core/job-template.js';
import type { ApplyOptions } from '../core/task.js';
import { defaults } from '../defaults.js';
import { Lease } from './lease.js';
import { activeEntries, scheduleVersion, taskCheck } from './entries.js';
import { compileEntry, dueSlots, fireId, type BeatEntry } from './schedule.js';

export interface BeatServiceOptions {
  /** Lease length (ms): a standby takes over within it when the leader dies (default 5 s). */
  leaseMs?: number;
  /** This beat's name in logs and events (default beat<pid>@<host>). */
  name?: string;
}

/** Fire outcomes (beat-fire.lua's codes). */
const NOT_LEADER = -1;
/** The leader looks at least this often (schedule changes, lease renewal). */
const MAX_SLEEP_MS = 1000;

export class BeatService extends EventEmitter {
  readonly name: string;
  /** The app's own entries, checked at construction. */
  readonly appEntries: BeatEntry[];
  /** What the leader runs: enabled app and run-time entries (beat/entries.ts). */
  entries: BeatEntry[] = [];
  private version = '';
  leader = false;
  private readonly leaseMs: number;
  private readonly stopping = new AbortController();
  private client!: Redis;
  private lease!: Lease;
  private loop: Promise<void> | undefined;
  /** Per entry: the last slot fired (or, for an entry never fired, when this leader first saw it). */
  private readonly last = new Map<string, number>();
  private readonly registered = new Set<string>();
  private failingSince = 0;

  /** Checks every entry of the app's schedule against its tasks: a bad one throws, naming it. */
  constructor(
    readonly app: App,
    private readonly log: Logger,
    options: BeatServiceOptions = {},
  ) {
    super();
    this.appEntries = Object.entries(app.beatSchedule).map(([name, spec]) => compileEntry(name, spec, taskCheck(app)));
    this.entries = this.appEntries;
    this.leaseMs = options.leaseMs ?? defaults.beatLeaseMs;
    this.name = options.name ?? `beat${process.pid}@${hostname()}`;
  }

  /** Says when the beat's connection to Redis is lost and when it is back. */
  private readonly onConnection = (c: ConnectionChange): void => {
    if (c.client !== this.clientLabel) return;
    if (c.change === 'lost') {
      this.log.error('beat: Redis does not answer; retrying (nothing is fired meanwhile)');
      // The lease may be someone else's by the time Redis answers: lead again only once renewed.
      this.setLeader(false);
    } else this.log.warn({ downMs: c.downMs }, `beat: Redis answers again (after ${c.downMs} ms)`);
  };

  private get clientLabel(): string {
    return `taskq:command:beat:${this.name}`;
  }

  async start(): Promise<void> {
    this.app.redis.on('connection', this.onConnection);
    this.client = await this.app.redis.connected('command', `beat:${this.name}`);
    this.client.on('error', () => {}); // reconnects by itself; the loop logs the outage
    defineScripts(this.client);
    this.lease = new Lease(this.client, this.app.keys.beatLeader, `${this.name}:${randomUUID()}`, this.leaseMs);
    this.loop = this.run();
  }

  /** Stops; a leader gives its lease up, so a standby takes over at once. Idempotent. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.app.redis.off('connection', this.onConnection);
    await this.loop;
    if (this.leader) await this.lease.release().catch(() => false);
    this.setLeader(false);
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let waitMs = this.leaseMs / 3;
      try {
        waitMs = await this.tick();
        if (this.failingSince) this.log.warn({ downMs: Date.now() - this.failingSince }, 'beat: Redis commands work again');
        this.failingSince = 0;
      } catch (err) {
        if (!this.failingSince) this.log.error({ err }, 'beat: a Redis command failed; retrying (nothing is fired meanwhile)');
        this.failingSince ||= Date.now();
        // A lease we cannot renew may be someone else's by now: fire nothing until it is renewed.
        this.setLeader(false);
      }
      await sleep(waitMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One look: hold or seek the lease, fire what is due; returns how long to sleep. */
  private async tick(): Promise<number> {
    // A standby sleeps until the leader's lease runs out (it is renewed meanwhile if the leader lives).
    const leftMs = this.leader ? ((await this.lease.renew()) ? 0 : this.leaseMs) : await this.lease.acquire();
    const held = leftMs === 0;
    const now = await this.redisNow();
    const readAt = performance.now();
    if (held && !this.leader) await this.lead(now);
    if (!held && this.leader) this.log.warn('beat: lost the lead (the lease ran out); standing by');
    this.setLeader(held);
    if (!held) return Math.min(leftMs + 5, this.leaseMs / 3);
    if (((await scheduleVersion(this.app, this.client)) ?? '0') !== this.version) await this.reload();
    // Entries fire side by side (their scripts go out back to back on one connection); each entry's
    // own slots in order. One fence (another beat leads) stops the rest.
    const fenced = await Promise.all(
      this.entries.map(async (entry) => {
        for (const slot of dueSlots(entry, this.lastOf(entry, now), now)) if (!this.leader || !(await this.fire(entry, slot, now))) return true;
        return false;
      }),
    );
    if (fenced.includes(true)) return this.leaseMs / 3;
    const nextSlot = Math.min(...this.entries.map((e) => e.slotAfter(now)));
    // Woken at least once a second: schedule changes (taskq beat add …) are seen within it. The time
    // this tick took is Redis time gone by too.
    const elapsed = performance.now() - readAt;
    return Math.max(0, Math.min(nextSlot - now - elapsed, this.leaseMs / 3, MAX_SLEEP_MS));
  }

  private lastOf(entry: BeatEntry, now: number): number {
    if (!this.last.has(entry.name)) this.last.set(entry.name, now);
    return this.last.get(entry.name) as number;
  }

  /** Became leader: read where each entry stands, announce it. */
  private async lead(now: number): Promise<void> {
    this.last.clear();
    this.entries = [];
    await this.reload(); // every entry is new to this leader: each starts where the state says
    this.log.info({ beat: this.name, entries: this.entries.length }, 'beat: leading');
    if (this.app.config.events) {
      await this.client.xadd(this.app.keys.events, 'MAXLEN', '~', this.app.config.eventsMaxLen, '*', 'type', 'beat-leader', 'data', JSON.stringify({ beat: this.name, since: now }));
    }
  }

  /** Reads the enabled entries (app and run-time); a run-time entry that no longer checks out is skipped, said once. */
  private async reload(): Promise<void> {
    const { entries, version, skipped } = await activeEntries(this.app, this.client, this.appEntries);
    // Entries new to this leader (added, enabled again, or all of them when it takes the lead) start
    // after their last slot sent or when they were enabled again, whichever is later; else from now.
    const known = new Set(this.entries.map((e) => e.name));
    const fresh = entries.filter((e) => !known.has(e.name));
    if (fresh.length) {
      const fields = fresh.flatMap((e) => [`${e.name}:last`, `${e.name}:since`]);
      const values = await this.client.hmget(this.app.keys.beatState, ...fields);
      fresh.forEach((e, i) => {
        const marks = [values[2 * i], values[2 * i + 1]].filter((v): v is string => v !== null).map(Number);
        if (marks.length) this.last.set(e.name, Math.max(...marks));
        else this.last.delete(e.name);
      });
    }
    this.entries = entries;
    this.version = version;
    for (const s of skipped) this.log.error({ entry: s.name }, `beat: skipping run-time entry ${s.name}: ${s.why}`);
    this.log.info({ entries: entries.map((e) => e.name), version }, 'beat: schedule loaded');
  }

  private setLeader(value: boolean): void {
    if (value === this.leader) return;
    this.leader = value;
    this.emit('leader', value);
  }

  /** Sends one slot; false if this beat turned out not to lead (fenced off). */
  private async fire(entry: BeatEntry, slot: number, now: number): Promise<boolean> {
    const { app } = this;
    const spec = entry.spec;
    const template = new JobTemplate(spec.task, app.tasks.get(spec.task), (spec.options ?? {}) as ApplyOptions, app.router, now, app.config.events && app.config.sentEvents);
    const id = fireId(entry.name, slot);
    const job = template.build(spec.args ?? [], id, `beat entry ${entry.name}`, kwargsTail(spec.task, spec.kwargs));
    const k = app.keys;
    const q = template.queue;
    if (!this.registered.has(q)) {
      await this.client.sadd(k.queues, q);
      this.registered.add(q);
    }
    const fired = app.config.events ? JSON.stringify({ entry: entry.name, task: spec.task, slot, id, queue: q, beat: this.name }) : '';
    const code = Number(
      await runScript(
        this.client,
        'taskqBeatFire',
        [k.beatLeader, k.beatState, k.queue(q, 'jobs'), k.queue(q, 'waiting'), k.queue(q, 'delayed'), k.queue(q, 'earlierDelayed'), k.events],
        [this.lease.token, entry.name, slot, entry.slotAfter(slot), app.config.eventsMaxLen, k.resultPrefix, ...job, fired],
      ),
    );
    if (code === NOT_LEADER) {
      this.log.warn({ entry: entry.name }, 'beat: another beat leads now; standing by');
      this.setLeader(false);
      return false;
    }
    this.last.set(entry.name, slot);
    this.emit('fired', { entry: entry.name, slot, id, code });
    if (code === 1) this.log.info({ entry: entry.name, task: spec.task, slot: new Date(slot).toISOString(), id }, `beat: sent ${spec.task} (${entry.name})`);
    return true;
  }

  private async redisNow(): Promise<number> {
    const [s, us] = await this.client.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}
