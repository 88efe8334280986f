/**
 * `--uid` / `--gid` of a daemonized node (Celery's): a user or group by name or number, and dropping
 * to them. Names are looked up with getent (so NSS users — LDAP, systemd's dynamic users — resolve
 * too); only root may switch.
 */
import { execFileSync } from 'node:child_process';
import { OptionError } from '../errors.js';

function lookup(db: 'passwd' | 'group', value: string, option: string): { id: number; gid: number | undefined } {
  if (/^\d+$/.test(value)) return { id: Number(value), gid: undefined };
  let line: string;
  try {
    line = execFileSync('getent', [db, value], { encoding: 'utf8' }).trim();
  } catch {
    throw new OptionError(`${option} ${value}: no such ${db === 'passwd' ? 'user' : 'group'} on this machine (getent ${db} ${value} finds none)`);
  }
  const fields = line.split(':');
  return { id: Number(fields[2]), gid: db === 'passwd' ? Number(fields[3]) : undefined };
}

/** The uid and gid to run as: a user's own group unless `--gid` names one. */
export function resolveIdentity(user: string | undefined, group: string | undefined): { uid?: number; gid?: number } {
  const u = user === undefined ? undefined : lookup('passwd', user, '--uid');
  const g = group === undefined ? undefined : lookup('group', group, '--gid').id;
  const gid = g ?? u?.gid;
  return { ...(u ? { uid: u.id } : {}), ...(gid !== undefined ? { gid } : {}) };
}

/** Drops this process to `uid` / `gid` (groups: just that one). Throws unless it runs as root. */
export function dropPrivileges(identity: { uid?: number; gid?: number }): void {
  if (identity.uid === undefined && identity.gid === undefined) return;
  const me = process.getuid?.();
  if (me !== 0) throw new OptionError(`--uid / --gid need root: this runs as uid ${me}; start it as root (it drops to them at once), or leave them out`);
  if (identity.gid !== undefined) {
    process.setgroups?.([identity.gid]);
    process.setgid?.(identity.gid);
  }
  if (identity.uid !== undefined) process.setuid?.(identity.uid);
}
