/**
 * What `taskq multi start` records for each node it starts, next to its pidfile
 * (`/var/run/taskq/w1.pid` → `/var/run/taskq/w1.node.json`), so that `restart` needs no repeated
 * options and `start` after a crash starts the node as it was:
 *   {"name": "w1@host", "argv": [taskq worker arguments], "cwd": "/srv/app", "logfile": "/var/log/taskq/w1%I.log", "startedAt": ms}
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

export interface NodeRecord {
  name: string;
  argv: string[];
  cwd: string;
  /** Where it logged (records written before this field have none). */
  logfile?: string;
  startedAt: number;
}

export function recordPath(pidfile: string): string {
  return `${pidfile.replace(/\.pid$/, '')}.node.json`;
}

export function writeNodeRecord(pidfile: string, record: NodeRecord): void {
  writeFileSync(recordPath(pidfile), `${JSON.stringify(record)}\n`, { mode: 0o644 });
}

/** The node's record, if one was written and is readable (a broken one counts as none). */
export function readNodeRecord(pidfile: string): NodeRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(recordPath(pidfile), 'utf8')) as Partial<NodeRecord>;
    if (typeof r.name !== 'string' || !Array.isArray(r.argv) || !r.argv.every((a) => typeof a === 'string') || typeof r.cwd !== 'string') return undefined;
    return { name: r.name, argv: r.argv, cwd: r.cwd, ...(typeof r.logfile === 'string' ? { logfile: r.logfile } : {}), startedAt: Number(r.startedAt) || 0 };
  } catch {
    return undefined;
  }
}

export function removeNodeRecord(pidfile: string): void {
  rmSync(recordPath(pidfile), { force: true });
}
