import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_TASKQ_VARS, parseEnvFile } from '../../../src/multi/env-file.js';

describe("worker.conf, read as systemd's EnvironmentFile and checked", () => {
  it('reads the shipped worker.conf', () => {
    const vars = parseEnvFile(readFileSync(new URL('../../../worker.conf', import.meta.url), 'utf8'), 'worker.conf');
    expect(vars.TASKQ_NODES).toBe('capture analyze download schedule');
    expect(vars.TASKQ_PID_FILE).toBe('/run/taskq/%n.pid');
    expect(vars.TASKQ_OPTS).toContain('-Q:1 q_pcap');
    // The unit's DynamicUser may write only its own directories: the cache goes in its CacheDirectory.
    const unit = readFileSync(new URL('../../../deploy/taskq.service', import.meta.url), 'utf8');
    expect(unit).toMatch(/^CacheDirectory=taskq$/m);
    expect(vars.TASKQ_CACHE_DIR).toBe('/var/cache/taskq');
  });

  it('takes comments, blank lines, quotes and escapes', () => {
    expect(parseEnvFile('# c\n; c\n\nA=1\nB="two words"\nC=\'single\'\nD="say \\"hi\\""\n', 'f')).toEqual({ A: '1', B: 'two words', C: 'single', D: 'say "hi"' });
  });

  it('names file and line of what systemd would skip, and TASKQ_* typos', () => {
    expect(() => parseEnvFile('A=1\nexport TASKQ_NODES=w1\n', '/etc/taskq/worker.conf')).toThrow('/etc/taskq/worker.conf:2: systemd does not read `export`: write TASKQ_NODES=w1');
    expect(() => parseEnvFile('TASKQ_NODES w1\n', 'f')).toThrow('f:1: not an assignment (KEY=value): "TASKQ_NODES w1"');
    expect(() => parseEnvFile('TASKQ_OPTS="-c 2\n', 'f')).toThrow('f:1: the value opens a " quote it does not close');
    expect(() => parseEnvFile('MY-VAR=1\n', 'f')).toThrow('f:1: "MY-VAR" is not a variable name');
    expect(() => parseEnvFile('TASKQ_NODE=w1\n', 'f')).toThrow(/f:1: taskq reads no TASKQ_NODE; did you mean TASKQ_NODES\?/);
  });
});

describe('the variables an env file may set', () => {
  it('are every TASKQ_* variable taskq reads (the README documents them; worker.conf is how systemd sets them)', () => {
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts')) for (const m of readFileSync(path, 'utf8').matchAll(/env\.(TASKQ_[A-Z0-9_]+)|'(TASKQ_[A-Z0-9_]+)'\s*[,)]/g)) read.add((m[1] ?? m[2]) as string);
      }
    };
    walk(join(import.meta.dirname, '../../../src'));
    const internal = new Set(['TASKQ_POOL_INIT', 'TASKQ_POOL_PARENT', 'TASKQ_DETACHED', 'TASKQ_PARENT_DEATH']);
    const codes = [...read].filter((v) => !internal.has(v) && !KNOWN_TASKQ_VARS.includes(v) && !isErrorCode(v));
    expect(codes).toEqual([]);
    expect(() => parseEnvFile('TASKQ_CACHE_DIR=/srv/cache\nTASKQ_UI_TOKEN=x\nTASKQ_ANALYZE_MIN_BYTES=1\n', 'f')).not.toThrow();
  });
});

/** Error codes look like variables; they are the ones errors.ts and the modules throw with. */
function isErrorCode(name: string): boolean {
  return /_(INVALID|FAILED|UNAVAILABLE|ERROR|AUTH|OOM|MISCONF|READONLY|WRONGTYPE|FULL|MISS|CLOSED|INTERNAL|DUPLICATE|UNKNOWN|REVOKED|TIMEOUT|DISABLED|UNSERIALIZABLE|LOCKED|INIT|CREATE|REPLY)$|^TASKQ_(CANT_CREATE|NO_REPLY|ERROR)$/.test(name);
}
