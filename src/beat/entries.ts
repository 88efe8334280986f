/**
 * The beat schedule as the leader runs it: the app's entries (`beatSchedule`, in code) plus entries
 * added at run time, stored in Redis; either kind can be disabled and enabled. Every change bumps a
 * version the leader reads at least once a second, so it sees changes within a second. App entries
 * cannot be overwritten or removed from here (disable them instead): a deploy owns them.
 *   <prefix>:beat:entries   HASH name → {"spec": {...}, "addedAt": ms}   (run-time entries)
 *   <prefix>:beat:disabled  SET  names of disabled entries (app or run-time)
 *   <prefix>:beat:version   STR  bumped by every change
 */
import type { Redis } from '../broker/redis-factory.js';
import type { App } from '../core/app.js';
import type { BeatEntrySpec } from '../core/beat-spec.js';
import { ConfigError, TaskqError } from '../errors.js';
import { compileEntry, fireId, type BeatEntry } from './schedule.js';
import { userTaskNames } from '../core/canvas/frozen.js';

export interface EntryInfo {
  name: string;
  spec: BeatEntrySpec;
  source: 'app' | 'runtime';
  enabled: boolean;
  /** Last slot sent, next slot, when it was sent (ms), how many times; from beat's state. */
  last?: number;
  next?: number;
  at?: number;
  total: number;
}

const keysOf = (app: App) => ({
  entries: `${app.keys.prefix}:beat:entries`,
  disabled: `${app.keys.prefix}:beat:disabled`,
  version: `${app.keys.prefix}:beat:version`,
});

/** Run-time entries and enable/disable, for `taskq beat ls|add|rm|enable|disable|run-now` and the UI. */
export class BeatEntries {
  constructor(private readonly app: App) {}

  private client(): Promise<Redis> {
    return this.app.client();
  }

  /** Every entry, app and run-time, with its state. */
  async list(): Promise<EntryInfo[]> {
    const client = await this.client();
    const k = keysOf(this.app);
    const [runtime, disabled, state] = await Promise.all([client.hgetall(k.entries), client.smembers(k.disabled), client.hgetall(this.app.keys.beatState)]);
    const off = new Set(disabled);
    const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
    const info = (name: string, spec: BeatEntrySpec, source: EntryInfo['source']): EntryInfo => {
      const last = num(state[`${name}:last`]);
      const next = num(state[`${name}:next`]);
      const at = num(state[`${name}:at`]);
      return { name, spec, source, enabled: !off.has(name), ...(last !== undefined ? { last } : {}), ...(next !== undefined ? { next } : {}), ...(at !== undefined ? { at } : {}), total: Number(state[`${name}:total`] ?? 0) };
    };
    const out = Object.entries(this.app.beatSchedule).map(([name, spec]) => info(name, spec, 'app'));
    for (const [name, raw] of Object.entries(runtime)) {
      if (name in this.app.beatSchedule) continue; // the app's own wins
      const spec = parseStored(raw);
      if (spec) out.push(info(name, spec, 'runtime'));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Adds a run-time entry (checked against the app's tasks); an existing name is an error unless `replace` (run-time entries only). */
  async add(name: string, spec: BeatEntrySpec, options: { replace?: boolean } = {}): Promise<void> {
    if (name in this.app.beatSchedule) throw new ConfigError('TASKQ_CONFIG_INVALID', `beat entry "${name}" is defined by the app (its beatSchedule); give the new entry another name, or change the app`);
    compileEntry(name, spec, taskCheck(this.app));
    const client = await this.client();
    const k = keysOf(this.app);
    const stored = JSON.stringify({ spec, addedAt: Date.now() });
    const added = options.replace ? await client.hset(k.entries, name, stored) : await client.hsetnx(k.entries, name, stored);
    if (!options.replace && added === 0) throw new ConfigError('TASKQ_CONFIG_INVALID', `beat entry "${name}" exists already; remove it first, or replace it (--replace)`);
    await client.incr(k.version);
  }

  /** Removes a run-time entry (and its state). */
  async remove(name: string): Promise<void> {
    if (name in this.app.beatSchedule) throw new ConfigError('TASKQ_CONFIG_INVALID', `beat entry "${name}" is defined by the app and cannot be removed here; disable it (taskq beat disable ${name}) or change the app`);
    const client = await this.client();
    const k = keysOf(this.app);
    if ((await client.hdel(k.entries, name)) === 0) throw new TaskqError('TASKQ_CONFIG_INVALID', `no run-time beat entry "${name}" (taskq beat ls lists them)`, { exitCode: 78 });
    await client.multi().srem(k.disabled, name).hdel(this.app.keys.beatState, `${name}:last`, `${name}:next`, `${name}:at`, `${name}:total`, `${name}:since`).incr(k.version).exec();
  }

  /** Turns an entry off (true) or on (false); it keeps its state. */
  async setDisabled(name: string, disabled: boolean): Promise<void> {
    await this.mustExist(name);
    const client = await this.client();
    const k = keysOf(this.app);
    const tx = client.multi()[disabled ? 'sadd' : 'srem'](k.disabled, name);
    // Slots that passed while it was off are skipped, not caught up: it starts again from now.
    if (!disabled) {
      const [seconds, micros] = await client.time();
      tx.hset(this.app.keys.beatState, `${name}:since`, String(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)));
    }
    await tx.incr(k.version).exec();
  }

  /** Sends the entry's task now, outside its schedule (its slots are not touched); returns the job id. */
  async runNow(name: string): Promise<string> {
    const entry = await this.mustExist(name);
    const id = fireId(name, Date.now()).replace('@', '@run-now-');
    await this.app.send(entry.spec.task, entry.spec.args ?? [], entry.spec.kwargs ?? {}, { ...(entry.spec.options ?? {}), jobId: id });
    return id;
  }

  private async mustExist(name: string): Promise<EntryInfo> {
    const found = (await this.list()).find((e) => e.name === name);
    if (!found) throw new TaskqError('TASKQ_CONFIG_INVALID', `no beat entry "${name}" (taskq beat ls lists them)`, { exitCode: 78 });
    return found;
  }
}

function parseStored(raw: string): BeatEntrySpec | undefined {
  try {
    const v = JSON.parse(raw) as { spec?: BeatEntrySpec };
    return v.spec && typeof v.spec === 'object' ? v.spec : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the leader runs: enabled entries, app and run-time, checked. A run-time entry that no longer
 * checks out (its task was removed from the app) is skipped and reported, never fired.
 */
export async function activeEntries(app: App, client: Redis, appEntries: BeatEntry[]): Promise<{ entries: BeatEntry[]; version: string; skipped: Array<{ name: string; why: string }> }> {
  const k = keysOf(app);
  const [runtime, disabled, version] = await Promise.all([client.hgetall(k.entries), client.smembers(k.disabled), client.get(k.version)]);
  const off = new Set(disabled);
  const entries = appEntries.filter((e) => !off.has(e.name));
  const skipped: Array<{ name: string; why: string }> = [];
  for (const [name, raw] of Object.entries(runtime)) {
    if (off.has(name) || name in app.beatSchedule) continue;
    const spec = parseStored(raw);
    try {
      if (!spec) throw new Error('its stored definition is not JSON');
      entries.push(compileEntry(name, spec, taskCheck(app)));
    } catch (err) {
      skipped.push({ name, why: (err as Error).message });
    }
  }
  return { entries, version: version ?? '0', skipped };
}

/** The version the leader compares to know whether to reload. */
export function scheduleVersion(app: App, client: Redis): Promise<string | null> {
  return client.get(keysOf(app).version);
}

/**
 * The task names an entry's task is checked against: the app's, when it registers any. An app that
 * registers none (`taskq ui` or `beat` without -A, a producer-only app) sends tasks by name, as
 * Celery's beat does, and the workers that run them decide.
 */
export function taskCheck(app: App): { has(name: string): boolean } | undefined {
  return userTaskNames(app.tasks).length > 0 ? app.tasks : undefined;
}
