/** Human output of `taskq multi` (Celery's wording: `> w1@host: OK`, `TERM -> pid`, `DOWN`). */
import type { Defaults } from '../defaults.js';
import type { NodeOutcome } from '../multi/cluster.js';
import { shellQuote, type MultiNode } from '../multi/node-spec.js';

const SHORT_SIGNAL = (s: string): string => s.replace(/^SIG/, '');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const indent = (text: string): string => text.split('\n').map((l) => `\t  ${l}`).join('\n');

/** The command that runs the node (what `show` and `get` print). */
export function multiCommandLine(node: MultiNode): string {
  return ['taskq', 'worker', '--detach', ...node.argv].map(shellQuote).join(' ');
}

/** One line (or a few) per outcome, as it happens. */
export function multiOutcomeText(o: NodeOutcome): string {
  switch (o.kind) {
    case 'started':
      return `\t> ${o.node}: OK (pid ${o.pid}, consuming after ${secs(o.ms)})\n`;
    case 'already-running':
      return `\t> ${o.node}: already running (pid ${o.pid})\n`;
    case 'failed':
      return `\t> ${o.node}: FAILED\n${indent(o.reason)}\n`;
    case 'down':
      return `\t> ${o.node}: DOWN\n`;
    case 'signalled':
      return `\t> ${o.node}: ${SHORT_SIGNAL(o.signal)} -> ${o.pid}\n`;
    case 'stopped':
      return `\t> ${o.node}: OK (stopped after ${secs(o.ms)})\n`;
    case 'killed':
      return `\t> ${o.node}: KILL -> ${o.pid} (it did not stop in time)\n`;
    case 'reloaded':
      return `\t> ${o.node}: OK (restarted in place, pid ${o.pid}, consuming after ${secs(o.ms)})\n`;
    case 'still-running':
      return `\t> ${o.node}: still running (pid ${o.pid}); pass --timeout to wait longer, or --kill to end it\n`;
  }
}

/** A last line counting what happened, when something went wrong. */
export function multiSummary(outcomes: NodeOutcome[]): string {
  const count = (k: NodeOutcome['kind']): number => outcomes.filter((o) => o.kind === k).length;
  const failed = count('failed');
  const running = count('still-running');
  const already = count('already-running');
  const parts = [failed && `${failed} failed`, running && `${running} still running`, already && `${already} already running`].filter(Boolean);
  return parts.length ? `> ${parts.join(', ')} of ${outcomes.length} nodes\n` : '';
}

export function multiHelp(d: Defaults): string {
  return `usage: taskq multi start <n1 n2 …|count> [worker options]
       taskq multi stop <nodes> [-SIGNAL]            signal (default TERM), do not wait
       taskq multi stopwait <nodes> [-SIGNAL] [--timeout s] [--kill]
       taskq multi restart <nodes> [-SIGNAL] [worker options]
       taskq multi reload <nodes>                    HUP: each node restarts in place (same pid)
       taskq multi kill <nodes>
       taskq multi show|names <nodes> [worker options]
       taskq multi get <node> <nodes> [worker options]
       taskq multi expand <template> <nodes>

Nodes: names (w1 w2, w1@%h) or a count (3 → ${d.multiRangePrefix}1..${d.multiRangePrefix}3).
Per-node options: -c:1 10, -Q:1-3 a,b, -c:w1,w2 5, --logfile:w1=/x.log (an index from 1, a range,
or names); they beat the options given for every node. After --, words go to every node unchanged.
Templates in --pidfile / --logfile: %n short name, %h full name, %d domain, %i / %I pool index, %%.
Defaults: --pidfile=${d.multiPidfile} --logfile=${d.multiLogfile}
start prints OK once a node consumes, FAILED with its reason otherwise (exit 1); a node already
running is left alone (exit 73). restart reuses each node's recorded options unless you give new ones.
stopwait stops every node at once and waits (default --timeout: the nodes' drain, then --kill or exit 1).
Own options: -n/--hostname <host>, --range-prefix <p>, --timeout <s>, --kill, -q/--quiet, --verbose.
`;
}
