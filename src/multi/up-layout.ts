/**
 * The nodes `taskq up` runs, as configuration: `--node name=q1,q2:concurrency` options, or a JSON file
 * (`taskq-up.json`: `{"app": "dist/app.js", "nodes": [{"name", "queues", "concurrency"}], "taskEvents": true, "beat": true, "services": {name: command},
 * "start": [commands], "try": [commands]}`). Pure:
 * parsing and validation only; reading the file is the caller's.
 */
import { QUEUE_NAME_PATTERN } from '../broker/keys.js';
import { defaults } from '../defaults.js';
import { ConfigError } from '../errors.js';

export interface NodeSpec {
  /** Short name; the node is `<name>@<host>`. */
  name: string;
  queues: string[];
  concurrency: number;
}

export interface UpLayout {
  /** The app module every node loads (-A). */
  app: string;
  nodes: NodeSpec[];
  /** taskq commands to suggest once it is up (e.g. `call -A dist/app.js schedule.ping --wait`). */
  tries?: string[];
  /** Run one `taskq beat` beside the nodes (the app's beatSchedule). */
  beat?: boolean;
  /** The nodes write task events from their start (-E), for the web UI and `taskq events`. */
  taskEvents?: boolean;
  /** Long-running taskq commands run and watched beside the nodes (e.g. `cache serve`, `demo origin`). */
  services?: Array<{ name: string; command: string; args: string[] }>;
  /** taskq commands run once everything is up (e.g. `capture start -A dist/app.js`). */
  start?: string[][];
}

/** The taskq commands a layout may run as services: each reports ready and runs until SIGTERM. */
export const SERVICE_COMMANDS = ['cache', 'demo', 'ui'];

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function bad(where: string, why: string): ConfigError {
  return new ConfigError('TASKQ_CONFIG_INVALID', `${where}: ${why}`);
}

function checkNode(node: NodeSpec, where: string): NodeSpec {
  if (!NAME.test(node.name)) throw bad(where, `node name ${JSON.stringify(node.name)} must be 1–64 letters, digits, _ . -`);
  if (!node.queues.length) throw bad(where, `node ${node.name} consumes no queue`);
  for (const q of node.queues) if (!QUEUE_NAME_PATTERN.test(q)) throw bad(where, `node ${node.name}: ${JSON.stringify(q)} is not a valid queue name`);
  if (!Number.isInteger(node.concurrency) || node.concurrency < 1 || node.concurrency > defaults.maxConcurrency) {
    throw bad(where, `node ${node.name}: concurrency must be an integer from 1 to ${defaults.maxConcurrency}, got ${JSON.stringify(node.concurrency)}`);
  }
  return node;
}

function checkUnique(nodes: NodeSpec[], where: string): NodeSpec[] {
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.name)) throw bad(where, `node name ${n.name} is given twice`);
    seen.add(n.name);
  }
  if (!nodes.length) throw bad(where, 'no nodes');
  return nodes;
}

/** `--node capture=q_pcap:1` or `--node io=q_a,q_b` (concurrency defaults to the worker's). */
export function parseNodeOption(value: string): NodeSpec {
  const m = /^([^=]+)=([^:]+)(?::(\d+))?$/.exec(value.trim());
  if (!m) throw bad(`--node ${value}`, 'expected name=queue1,queue2[:concurrency], e.g. capture=q_pcap:1');
  const queues = (m[2] as string).split(',').map((q) => q.trim()).filter(Boolean);
  return checkNode({ name: m[1] as string, queues, concurrency: m[3] === undefined ? defaults.concurrency : Number(m[3]) }, `--node ${value}`);
}

/** The layout from --node options. */
export function layoutFromOptions(app: string, nodes: NodeSpec[]): UpLayout {
  return { app, nodes: checkUnique(nodes, 'the --node options') };
}

/** The layout from a JSON file's text; `file` names it in errors. */
export function parseLayoutFile(text: string, file: string): UpLayout {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw bad(file, `not JSON (${(err as Error).message})`);
  }
  const o = parsed as { app?: unknown; nodes?: unknown };
  if (!o || typeof o !== 'object' || typeof o.app !== 'string' || !o.app) throw bad(file, 'needs "app": the module every node loads (e.g. "dist/app.js")');
  if (!Array.isArray(o.nodes)) throw bad(file, 'needs "nodes": [{"name", "queues", "concurrency"}, …]');
  const nodes = o.nodes.map((n: unknown, i) => {
    const x = n as Partial<NodeSpec>;
    if (!x || typeof x !== 'object' || typeof x.name !== 'string' || !Array.isArray(x.queues)) throw bad(file, `nodes[${i}] needs "name" and "queues"`);
    return checkNode({ name: x.name, queues: x.queues.map(String), concurrency: x.concurrency ?? defaults.concurrency }, `${file} nodes[${i}]`);
  });
  const beat = (o as { beat?: unknown }).beat;
  if (beat !== undefined && typeof beat !== 'boolean') throw bad(file, '"beat" must be true or false (run one taskq beat beside the nodes)');
  const taskEvents = (o as { taskEvents?: unknown }).taskEvents;
  if (taskEvents !== undefined && typeof taskEvents !== 'boolean') throw bad(file, '"taskEvents" must be true or false (the nodes write task events from their start: -E)');
  const tries = (o as { try?: unknown }).try;
  if (tries !== undefined && (!Array.isArray(tries) || !tries.every((t) => typeof t === 'string'))) throw bad(file, '"try" must be a list of taskq commands (strings)');
  const services = parseServices((o as { services?: unknown }).services, file);
  const start = (o as { start?: unknown }).start;
  if (start !== undefined && (!Array.isArray(start) || !start.every((t) => typeof t === 'string' && t.trim()))) throw bad(file, '"start" must be a list of taskq commands (strings) run once everything is up');
  return {
    app: o.app,
    nodes: checkUnique(nodes, file),
    ...(tries ? { tries: tries as string[] } : {}),
    ...(beat ? { beat } : {}),
    ...(taskEvents ? { taskEvents } : {}),
    ...(services.length ? { services } : {}),
    ...(start?.length ? { start: (start as string[]).map((line) => wordsIn(line, file)) } : {}),
  };
}

/**
 * A command line split into words as a shell would, for what layouts need: spaces separate words;
 * '…' and "…" keep spaces (and the other quote) inside a word; \ escapes a character outside '…'.
 * No variables, globs or pipes. Throws on an unclosed quote.
 */
export function words(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) word = (word ?? '') + line[++i];
    else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`${JSON.stringify(line)}: a ${quote} quote is not closed`);
  if (word !== undefined) out.push(word);
  return out;
}

function wordsIn(line: string, file: string): string[] {
  try {
    return words(line);
  } catch (err) {
    throw bad(file, (err as Error).message);
  }
}

function parseServices(value: unknown, file: string): Array<{ name: string; command: string; args: string[] }> {
  if (value === undefined) return [];
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw bad(file, '"services" must map a name to a taskq command, e.g. {"cache": "cache serve"}');
  return Object.entries(value as Record<string, unknown>).map(([name, line]) => {
    if (!NAME.test(name)) throw bad(file, `service name ${JSON.stringify(name)} must be 1–64 letters, digits, _ . -`);
    if (typeof line !== 'string' || !line.trim()) throw bad(file, `services.${name} must be a taskq command line, e.g. "cache serve"`);
    const [command, ...args] = wordsIn(line, file);
    if (!SERVICE_COMMANDS.includes(command as string)) throw bad(file, `services.${name}: "${command}" cannot run as a service (one of: ${SERVICE_COMMANDS.join(', ')})`);
    return { name, command: command as string, args };
  });
}

/**
 * The layout as a `taskq multi` line (names, `-A`, per-node `-Q:i` / `-c:i`, pidfiles and logs under
 * `stateDir`): `taskq up` runs its nodes from the same node spec as `taskq multi start`.
 */
export function layoutToMultiArgs(layout: UpLayout, appModule: string, stateDir: string): string[] {
  const perNode = layout.nodes.flatMap((n, i) => [`-Q:${i + 1}`, n.queues.join(','), `-c:${i + 1}`, String(n.concurrency)]);
  return [...layout.nodes.map((n) => n.name), '-A', appModule, ...perNode, ...(layout.taskEvents ? ['-E'] : []), `--pidfile=${stateDir}/run/%n.pid`, `--logfile=${stateDir}/logs/%n.log`];
}
