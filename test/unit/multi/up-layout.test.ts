import { parseMultiArgv } from '../../../src/multi/multi-argv.js';
import { buildNodes } from '../../../src/multi/node-spec.js';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { layoutFromOptions, parseLayoutFile, parseNodeOption, layoutToMultiArgs, words } from '../../../src/multi/up-layout.js';
import { thrown } from '../../helpers/thrown.js';

const configError = (fn: () => unknown): string => {
  const err = thrown(fn) as { code?: string; exitCode?: number; message: string };
  expect(err.code).toBe('TASKQ_CONFIG_INVALID');
  expect(err.exitCode).toBe(78);
  return err.message;
};

describe('--node name=queues:concurrency', () => {
  it('parses a node, with the default concurrency when none is given', () => {
    expect(parseNodeOption('capture=q_pcap:1')).toEqual({ name: 'capture', queues: ['q_pcap'], concurrency: 1 });
    expect(parseNodeOption('io=q_a,q_b')).toEqual({ name: 'io', queues: ['q_a', 'q_b'], concurrency: 4 });
  });

  it('refuses what it cannot run, naming the option', () => {
    expect(configError(() => parseNodeOption('capture'))).toMatch(/^--node capture: expected name=queue1,queue2\[:concurrency\]/);
    expect(configError(() => parseNodeOption('a b=q:1'))).toContain('node name "a b"');
    expect(configError(() => parseNodeOption('x=not ok:1'))).toContain('"not ok" is not a valid queue name');
    expect(configError(() => parseNodeOption('x=q:0'))).toContain('concurrency must be an integer from 1 to 10000, got 0');
    expect(configError(() => layoutFromOptions('app.js', [parseNodeOption('x=q'), parseNodeOption('x=r')]))).toContain('node name x is given twice');
  });
});

describe('the layout file', () => {
  it("reads the repository's own taskq-up.json: the flagship app's four stages", () => {
    const layout = parseLayoutFile(readFileSync(new URL('../../../taskq-up.json', import.meta.url), 'utf8'), 'taskq-up.json');
    expect(layout.app).toBe('dist/app.js');
    expect(layout.nodes.map((n) => `${n.name}:${n.queues.join(',')}:${n.concurrency}`)).toEqual(['capture:q_pcap:1', 'analyze:q_analyze:2', 'download:q_download:4', 'schedule:q_schedule:1']);
    expect(layout.tries).toEqual(['call -A dist/app.js schedule.ping --wait', 'beat ls -A dist/app.js', 'cache ls']);
    expect(layout.beat).toBe(true);
    expect(layout.services).toEqual([{ name: 'cache', command: 'cache', args: ['serve'] }, { name: 'demo', command: 'demo', args: ['origin'] }, { name: 'ui', command: 'ui', args: ['-A', 'dist/app.js'] }]);
    expect(layout.start).toEqual([['capture', 'start', '-A', 'dist/app.js', '--device', 'lo']]);
  });

  it('services are taskq commands that can run as one; start commands are lists of strings', () => {
    const base = '{"app": "a.js", "nodes": [{"name": "n", "queues": ["q"]}]';
    expect(configError(() => parseLayoutFile(`${base}, "services": {"w": "worker -A a.js"}}`, 'up.json'))).toBe('up.json: services.w: "worker" cannot run as a service (one of: cache, demo, ui)');
    expect(configError(() => parseLayoutFile(`${base}, "services": ["cache serve"]}`, 'up.json'))).toContain('"services" must map a name to a taskq command');
    expect(configError(() => parseLayoutFile(`${base}, "services": {"bad name": "cache serve"}}`, 'up.json'))).toContain('service name "bad name"');
    expect(configError(() => parseLayoutFile(`${base}, "start": "capture start"}`, 'up.json'))).toContain('"start" must be a list of taskq commands');
  });

  it('says what is missing or wrong, naming the file', () => {
    expect(configError(() => parseLayoutFile('{', 'up.json'))).toMatch(/^up.json: not JSON/);
    expect(configError(() => parseLayoutFile('{"nodes": []}', 'up.json'))).toContain('needs "app"');
    expect(configError(() => parseLayoutFile('{"app": "a.js"}', 'up.json'))).toContain('needs "nodes"');
    expect(configError(() => parseLayoutFile('{"app": "a.js", "nodes": [{"name": "x"}]}', 'up.json'))).toContain('nodes[0] needs "name" and "queues"');
    expect(configError(() => parseLayoutFile('{"app": "a.js", "nodes": []}', 'up.json'))).toContain('no nodes');
  });

  it('becomes a taskq multi line: the same node spec as multi start (queues, slots, task events, pidfile and log under the state folder)', () => {
    const layout = parseLayoutFile(readFileSync(new URL('../../../taskq-up.json', import.meta.url), 'utf8'), 'taskq-up.json');
    expect(layout.taskEvents).toBe(true);
    expect(() => parseLayoutFile('{"app": "a.js", "nodes": [{"name": "n", "queues": ["q"]}], "taskEvents": "yes"}', 'f.json')).toThrow('f.json: "taskEvents" must be true or false');
    const table = [
      { long: '--app', short: '-A', takesValue: true },
      { long: '--queues', short: '-Q', takesValue: true },
      { long: '--concurrency', short: '-c', takesValue: true },
      { long: '--pidfile', takesValue: true },
      { long: '--logfile', takesValue: true },
      { long: '--task-events', short: '-E', takesValue: false },
    ];
    const nodes = buildNodes(parseMultiArgv(layoutToMultiArgs(layout, '/srv/dist/app.js', '/srv/.state'), table), 'box');
    expect(nodes.map((n) => n.argv.join(' '))).toEqual([
      '-n capture@box -A /srv/dist/app.js -E -Q q_pcap -c 1 --pidfile=/srv/.state/run/capture.pid --logfile=/srv/.state/logs/capture.log',
      '-n analyze@box -A /srv/dist/app.js -E -Q q_analyze -c 2 --pidfile=/srv/.state/run/analyze.pid --logfile=/srv/.state/logs/analyze.log',
      '-n download@box -A /srv/dist/app.js -E -Q q_download -c 4 --pidfile=/srv/.state/run/download.pid --logfile=/srv/.state/logs/download.log',
      '-n schedule@box -A /srv/dist/app.js -E -Q q_schedule -c 1 --pidfile=/srv/.state/run/schedule.pid --logfile=/srv/.state/logs/schedule.log',
    ]);
  });
});

describe('layout command lines', () => {
  it('are split as a shell would: quotes keep spaces inside a word, backslashes escape', () => {
    expect(words("call add '[1, 1]' --wait")).toEqual(['call', 'add', '[1, 1]', '--wait']);
    expect(words('call greet \'["ada"]\' -k "{\\"greeting\\": \\"hi\\"}"')).toEqual(['call', 'greet', '["ada"]', '-k', '{"greeting": "hi"}']);
    expect(words('  cache   serve  ')).toEqual(['cache', 'serve']);
    expect(words("a '' b")).toEqual(['a', '', 'b']);
    expect(words('a\\ b c')).toEqual(['a b', 'c']);
    expect(() => words("call add '[1, 1]")).toThrow("a ' quote is not closed");
  });
});
