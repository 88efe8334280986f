import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../../src/multi/env-file.js';

describe("worker.conf, read as systemd's EnvironmentFile and checked", () => {
  it('reads the shipped worker.conf', () => {
    const vars = parseEnvFile(readFileSync(new URL('../../../worker.conf', import.meta.url), 'utf8'), 'worker.conf');
    expect(vars.TASKQ_NODES).toBe('capture analyze download schedule');
    expect(vars.TASKQ_PID_FILE).toBe('/run/taskq/%n.pid');
    expect(vars.TASKQ_OPTS).toContain('-Q:1 q_pcap');
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
