/**
 * From a parsed `taskq multi` line to the nodes it names: each node's full name, its `taskq worker`
 * arguments (global options, overridden by the ones given for that node, then `--` passthrough), and
 * its pidfile and logfile with the %-templates expanded. Pure: the host name is passed in.
 */
import { defaults } from '../defaults.js';
import { OptionError } from '../errors.js';
import { expandNodeName } from './node-name.js';
import { MULTI_OWN_OPTIONS, ownOption, type GivenOption, type MultiArgv } from './multi-argv.js';
import { expandForNode, expandNodeFields, splitNodeName } from './templates.js';

/** One node of a `taskq multi` line. */
export interface MultiNode {
  /** Full node name, `short@host`. */
  name: string;
  short: string;
  /** The arguments of `taskq worker` for this node (`-n`, options, pidfile, logfile, passthrough). */
  argv: string[];
  /** Expanded: where the node's pid is. */
  pidfile: string;
  /** Expanded but for %i / %I, which the node expands per pool process. */
  logfile: string;
  /** Where the node runs (default: where multi runs). */
  cwd?: string;
}

const FULL_NAME = /^[A-Za-z0-9_.-]{1,64}@[A-Za-z0-9_.-]{1,253}$/;

/** The node names of the line: the words given, or `<prefix>1..N` for a single count. */
export function nodeNames(argv: MultiArgv, hostname: string): string[] {
  const words = argv.positionals;
  if (!words.length) throw new OptionError('name the nodes (`taskq multi <command> w1 w2 …`), or give a count (`taskq multi <command> 3`)');
  let names = words;
  if (words.length === 1 && /^\d+$/.test(words[0] as string)) {
    const count = Number(words[0]);
    if (count < 1 || count > defaults.multiMaxNodes) throw new OptionError(`node count ${words[0]}: expected 1 to ${defaults.multiMaxNodes}`);
    const prefix = ownOption(argv, '--range-prefix') ?? defaults.multiRangePrefix;
    names = Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
  }
  const host = ownOption(argv, '--hostname') || hostname;
  const full = names.map((n) => (n.includes('@') ? expandNodeName(n, hostname) : `${n}@${host}`));
  const seen = new Set<string>();
  for (const [i, name] of full.entries()) {
    if (!FULL_NAME.test(name)) throw new OptionError(`node name ${JSON.stringify(names[i])} (${name}): expected name@host, each of letters, digits, _ . - (name up to 64)`);
    if (/^\d+$/.test(splitNodeName(name).short) && words.length > 1) throw new OptionError(`node name ${names[i]}: a name of digits only cannot be told from an index in -c:N; give it a letter`);
    if (seen.has(name)) throw new OptionError(`node ${name} is named twice`);
    seen.add(name);
  }
  return full;
}

/** The node indexes (0-based) a scope such as `1`, `1-3`, `2,4` or `w1,w2` names. */
export function scopeIndexes(scope: string, names: readonly string[], option: string): number[] {
  const where = `${option}:${scope}`;
  const count = names.length;
  const index = (word: string): number => {
    const n = Number(word);
    if (n < 1 || n > count) throw new OptionError(`${where}: there is no node ${n}; indexes go from 1 to ${count} (${names.join(', ')})`);
    return n - 1;
  };
  const out: number[] = [];
  for (const item of scope.split(',')) {
    const range = /^(\d+)-(\d+)$/.exec(item);
    if (/^\d+$/.test(item)) out.push(index(item));
    else if (range) {
      const [from, to] = [index(range[1] as string), index(range[2] as string)];
      if (from > to) throw new OptionError(`${where}: the range ${item} runs backwards; write ${range[2]}-${range[1]}`);
      for (let i = from; i <= to; i++) out.push(i);
    } else {
      const i = names.findIndex((n) => n === item || splitNodeName(n).short === item);
      if (i < 0) throw new OptionError(`${where}: no node is named ${JSON.stringify(item)} (nodes: ${names.join(', ')}); use a name, an index from 1 or a range like 1-3`);
      out.push(i);
    }
  }
  return out;
}

/** How an option is written on a command line: `--opt=value`, `-c 4`, or a bare flag. */
export function formatOption(o: Pick<GivenOption, 'flag' | 'value'>): string[] {
  if (o.value === undefined) return [o.flag];
  return o.flag.startsWith('--') ? [`${o.flag}=${o.value}`] : [o.flag, o.value];
}

/** The options for node `index`: every global one, then the node's own, which win (by long name). */
function mergedOptions(argv: MultiArgv, index: number, scopes: Map<GivenOption, number[]>): Map<string, GivenOption> {
  const merged = new Map<string, GivenOption>();
  for (const o of argv.options) if (o.scope === undefined && !OWN.has(o.key)) merged.set(o.key, o);
  for (const o of argv.options) if (o.scope !== undefined && scopes.get(o)?.includes(index)) merged.set(o.key, o);
  return merged;
}

const OWN = new Set(MULTI_OWN_OPTIONS.map((o) => o.long));

/** Every node of the line, in order. */
export function buildNodes(argv: MultiArgv, hostname: string): MultiNode[] {
  const names = nodeNames(argv, hostname);
  const scopes = new Map<GivenOption, number[]>();
  for (const o of argv.options) if (o.scope !== undefined) scopes.set(o, scopeIndexes(o.scope, names, o.flag));
  return names.map((name, index) => {
    const merged = mergedOptions(argv, index, scopes);
    const pidfile = expandForNode(merged.get('--pidfile')?.value ?? defaults.multiPidfile, name);
    const logfile = expandNodeFields(merged.get('--logfile')?.value ?? defaults.multiLogfile, name);
    merged.delete('--pidfile');
    merged.delete('--logfile');
    const options = [...merged.values()].flatMap((o) => formatOption({ flag: o.flag, value: o.value === undefined ? undefined : expandNodeFields(o.value, name) }));
    const argvOut = ['-n', name, ...options, `--pidfile=${pidfile}`, `--logfile=${logfile}`, ...argv.passthrough];
    return { name, short: splitNodeName(name).short, argv: argvOut, pidfile, logfile };
  });
}

/** Quotes a word for a POSIX shell when it needs it (for `show`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%,+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
