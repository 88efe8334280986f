/**
 * `taskq multi`'s grammar and node expansion, side by side with the examples in Celery's
 * celery/bin/multi.py docstring (their `celery worker …` lines, with taskq's names for the same things).
 */
import { describe, expect, it } from 'vitest';
import { parseMultiArgv, signalArg, type OptionSpec } from '../../../src/multi/multi-argv.js';
import { buildNodes, shellQuote } from '../../../src/multi/node-spec.js';
import { expandForNode, expandNodeFields } from '../../../src/multi/templates.js';

// A worker option table like the real one (the CLI derives it from `taskq worker`'s options).
const WORKER: OptionSpec[] = [
  { long: '--app', short: '-A', takesValue: true },
  { long: '--concurrency', short: '-c', takesValue: true },
  { long: '--queues', short: '-Q', takesValue: true },
  { long: '--loglevel', short: '-l', takesValue: true },
  { long: '--pidfile', takesValue: true },
  { long: '--logfile', takesValue: true },
  { long: '--events', short: '-E', takesValue: false },
];
const HOST = 'myhost';
const nodes = (line: string) => buildNodes(parseMultiArgv(line.split(/\s+/).filter(Boolean), WORKER), HOST);
/** Each node's options, without the pidfile/logfile every node gets. */
const lines = (line: string) => nodes(line).map((n) => n.argv.filter((a) => !/^--(pid|log)file=/.test(a)).join(' '));

describe('taskq multi: node names and per-node options (Celery examples)', () => {
  it('3 workers with 3 slots each: `start 3 -c 3`', () => {
    expect(lines('3 -c 3')).toEqual(['-n taskq1@myhost -c 3', '-n taskq2@myhost -c 3', '-n taskq3@myhost -c 3']);
  });

  it('named workers: `start image video data -c 3`', () => {
    expect(lines('image video data -c 3')).toEqual(['-n image@myhost -c 3', '-n video@myhost -c 3', '-n data@myhost -c 3']);
  });

  it('a custom host name: `start 2 --hostname=worker.example.com -c 3`', () => {
    expect(lines('2 --hostname=worker.example.com -c 3')).toEqual(['-n taskq1@worker.example.com -c 3', '-n taskq2@worker.example.com -c 3']);
  });

  it('fully qualified names, and %h for this host: `start foo@worker.example.com bar@%h`', () => {
    expect(nodes('foo@worker.example.com bar@%h').map((n) => n.name)).toEqual(['foo@worker.example.com', 'bar@myhost']);
  });

  it('one node overridden: `start 3 -c 3 -c:1 10` (the per-node value wins wherever it stands)', () => {
    expect(lines('3 -c 3 -c:1 10')).toEqual(['-n taskq1@myhost -c 10', '-n taskq2@myhost -c 3', '-n taskq3@myhost -c 3']);
    expect(lines('3 -c:1 10 -c 3')).toEqual(lines('3 -c 3 -c:1 10'));
  });

  it('by name: `start image video data -c 3 -c:image 10`', () => {
    expect(lines('image video data -c 3 -c:image 10')).toEqual(['-n image@myhost -c 10', '-n video@myhost -c 3', '-n data@myhost -c 3']);
  });

  it('ranges and lists: `start 5 -c 3 -c:1-3 10` equals `-c:1,2,3 10`', () => {
    const expected = ['-n taskq1@myhost -c 10', '-n taskq2@myhost -c 10', '-n taskq3@myhost -c 10', '-n taskq4@myhost -c 3', '-n taskq5@myhost -c 3'];
    expect(lines('5 -c 3 -c:1-3 10')).toEqual(expected);
    expect(lines('5 -c 3 -c:1,2,3 10')).toEqual(expected);
  });

  it('lists of names: `start foo bar baz xuzzy -c 3 -c:foo,bar,baz 10`', () => {
    expect(lines('foo bar baz xuzzy -c 3 -c:foo,bar,baz 10')).toEqual(['-n foo@myhost -c 10', '-n bar@myhost -c 10', '-n baz@myhost -c 10', '-n xuzzy@myhost -c 3']);
  });

  it('the advanced example: `start 10 -l INFO -Q:1-3 images,video -Q:4,5 data -Q default -l:4,5 DEBUG`', () => {
    const got = lines('10 -l INFO -Q:1-3 images,video -Q:4,5 data -Q default -l:4,5 DEBUG');
    expect(got.slice(0, 3)).toEqual([1, 2, 3].map((i) => `-n taskq${i}@myhost -l INFO -Q images,video`));
    expect(got.slice(3, 5)).toEqual([4, 5].map((i) => `-n taskq${i}@myhost -l DEBUG -Q data`));
    expect(got.slice(5)).toEqual([6, 7, 8, 9, 10].map((i) => `-n taskq${i}@myhost -l INFO -Q default`));
  });

  it('indexes count in the list of names: `start foo bar baz -c:2 7` is bar', () => {
    expect(lines('foo bar baz -c 1 -c:2 7')).toEqual(['-n foo@myhost -c 1', '-n bar@myhost -c 7', '-n baz@myhost -c 1']);
  });

  it('the flagship line, as the README writes it', () => {
    const got = nodes(
      'capture analyze download schedule -A dist/app.js -c:1 1 -c:2 2 -c:3 4 -c:4 1 -Q:1 q_pcap -Q:2 q_analyze -Q:3 q_download -Q:4 q_schedule --pidfile=/tmp/tq/%n.pid --logfile=/tmp/tq/%n%I.log',
    );
    expect(got.map((n) => n.argv.join(' '))).toEqual([
      '-n capture@myhost -A dist/app.js -c 1 -Q q_pcap --pidfile=/tmp/tq/capture.pid --logfile=/tmp/tq/capture%I.log',
      '-n analyze@myhost -A dist/app.js -c 2 -Q q_analyze --pidfile=/tmp/tq/analyze.pid --logfile=/tmp/tq/analyze%I.log',
      '-n download@myhost -A dist/app.js -c 4 -Q q_download --pidfile=/tmp/tq/download.pid --logfile=/tmp/tq/download%I.log',
      '-n schedule@myhost -A dist/app.js -c 1 -Q q_schedule --pidfile=/tmp/tq/schedule.pid --logfile=/tmp/tq/schedule%I.log',
    ]);
    expect(got[0]).toMatchObject({ short: 'capture', pidfile: '/tmp/tq/capture.pid', logfile: '/tmp/tq/capture%I.log' });
  });

  it('per-node long options with `=`, `--` passthrough, and the default pidfile / logfile', () => {
    const [w1, w2] = nodes('w1 w2 --logfile:w1=/x/one.log -- --max-tasks-per-child 5');
    expect(w1!.logfile).toBe('/x/one.log');
    expect(w2!.logfile).toBe('/var/log/taskq/w2%I.log');
    expect(w2!.pidfile).toBe('/var/run/taskq/w2.pid');
    expect(w1!.argv.slice(-2)).toEqual(['--max-tasks-per-child', '5']);
  });

  it('a flag without value never swallows a node name (Celery parses `-E w1` as -E=w1)', () => {
    expect(nodes('-E w1 w2').map((n) => n.name)).toEqual(['w1@myhost', 'w2@myhost']);
    expect(lines('-E w1')).toEqual(['-n w1@myhost -E']);
  });

  it('attached short values: -c3', () => {
    expect(lines('w1 -c3')).toEqual(['-n w1@myhost -c 3']);
  });
});

describe('taskq multi: signals', () => {
  it('reads -KILL, -9, -INT, -SIGHUP; other words are not signals', () => {
    expect(signalArg('-KILL')).toBe('SIGKILL');
    expect(signalArg('-9')).toBe('SIGKILL');
    expect(signalArg('-INT')).toBe('SIGINT');
    expect(signalArg('-SIGHUP')).toBe('SIGHUP');
    expect(signalArg('-c')).toBeUndefined();
    expect(signalArg('-NOTASIGNAL')).toBeUndefined();
    expect(parseMultiArgv(['w1', 'w2', '-KILL'], WORKER)).toMatchObject({ positionals: ['w1', 'w2'], signal: 'SIGKILL' });
  });
});

describe('taskq multi: bad lines are refused before anything starts', () => {
  const refuses = (line: string, message: RegExp) => expect(() => nodes(line)).toThrow(message);
  it('names what is wrong', () => {
    refuses('', /name the nodes/);
    refuses('0', /node count 0: expected 1 to 1000/);
    refuses('w1 w2 -c:3 5', /-c:3: there is no node 3; indexes go from 1 to 2/);
    refuses('w1 w2 -c:0 5', /there is no node 0/);
    refuses('4 -c:3-1 5', /runs backwards; write 1-3/);
    refuses('w1 w2 -c:w9 5', /-c:w9: no node is named "w9" \(nodes: w1@myhost, w2@myhost\)/);
    refuses('w1 -c: 5', /nothing after ":"/);
    refuses('w1 --frobnicate', /unknown option --frobnicate: .*taskq worker --help.*after `--`/);
    refuses('w1 -c', /-c needs a value/);
    refuses('w1 -c -Q a', /-c needs a value/);
    refuses('w1 -E=1', /-E=1: --events takes no value/);
    refuses('w1 --events=yes', /--events takes no value/);
    refuses('w1 w1', /node w1@myhost is named twice/);
    refuses('w1 bad!name', /node name "bad!name"/);
    refuses('w1 --timeout:1 5', /taskq multi's own option/);
  });
});

describe('taskq multi: %-templates', () => {
  it('%n %N short name, %h full name, %d domain, %i %I left to the node, %% kept for it', () => {
    const node = 'w1@box.example.com';
    expect(expandNodeFields('/var/log/%n%I.log', node)).toBe('/var/log/w1%I.log');
    expect(expandNodeFields('%h|%N|%d|%i|%%I', node)).toBe('w1@box.example.com|w1|example.com|%i|%%I');
    expect(expandForNode('/run/%n-%i%I.pid', node)).toBe('/run/w1-0.pid');
    expect(expandForNode('100%%-%n', node)).toBe('100%-w1');
  });

  it('quotes what a shell would split', () => {
    expect(shellQuote('--logfile=/var/log/taskq/w1%I.log')).toBe('--logfile=/var/log/taskq/w1%I.log');
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
  });
});
