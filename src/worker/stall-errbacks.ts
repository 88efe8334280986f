/**
 * Errbacks of jobs the stall check failed for good: stalls.lua records the failure (and fails a
 * chord the job belongs to) but cannot plan a canvas, so the node that ran the check applies the
 * jobs' `linkError` canvases here, once per failed id the script returned. Best effort: if this node
 * dies between the two steps, those errbacks are not sent (the failure itself is recorded).
 */
import type { Logger } from 'pino';
import type { Keys } from '../broker/keys.js';
import { decodeJobRecord, type ErrorInfo } from '../broker/message.js';
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import type { AppConfig } from '../core/config.js';
import { parseResultRecord } from '../core/result-record.js';
import { followUps } from './follow-ups.js';

export async function sendStallErrbacks(client: Redis, keys: Keys, config: AppConfig, queue: string, failed: string[], log: Logger): Promise<void> {
  for (const id of failed) {
    try {
      const raw = await client.hget(keys.queue(queue, 'jobs'), id);
      if (!raw || !raw.includes('"linkError":[')) continue;
      const record = decodeJobRecord(raw, id, queue);
      if (!record.data.linkError) continue;
      const stored = parseResultRecord(await client.get(keys.result(id)), id);
      const error: ErrorInfo = stored?.error ?? { name: 'JobStalled', message: `job ${id} stalled too often` };
      // Its chord was failed by the stall check already: only the errbacks are left to send.
      delete record.data.chord;
      const next = followUps({ id, queue, record, taskName: record.data.task, outcome: { kind: 'failure', error, reason: 'stalled' }, runtimeMs: 0 }, keys, Date.now(), config.events && config.sentEvents);
      if (!next.plan) continue;
      await runScript(client, 'taskqApply', [keys.events], [config.eventsMaxLen, config.resultExpiresMs, next.plan]);
      log.info({ jobId: id, errbacks: next.children }, 'errbacks of a job the stall check failed were sent');
    } catch (err) {
      log.error({ err, jobId: id }, 'could not send the errbacks of a job the stall check failed');
    }
  }
}
