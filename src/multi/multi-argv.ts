/**
 * The argument grammar of `taskq multi <command> …`, Celery's, parsed without side effects:
 *   - node names (`w1 w2`, `w1@%h`) or one count (`3` → taskq1..taskq3);
 *   - options for every node (`-c 3`, `--loglevel=debug`) and for some (`-c:1 10`, `-Q:1-3 a,b`,
 *     `-c:w1,w2 5`, `--logfile:w1=/x.log`): an index (from 1), a range of indexes, or node names;
 *   - `--` and everything after it, passed to every node unchanged;
 *   - a signal for stop / stopwait / restart / kill: `-KILL`, `-INT`, `-9`, `-SIGHUP`.
 * Unlike Celery, which option takes a value comes from a table (the worker's own options), so `-E w1`
 * never swallows a node name, and an unknown option is an error before anything starts.
 */
import { constants } from 'node:os';
import { OptionError } from '../errors.js';

/** One option the grammar knows: its spellings and whether it takes a value. */
export interface OptionSpec {
  long: string;
  short?: string | undefined;
  takesValue: boolean;
  /** multi's own (not passed to nodes), and never per node. */
  own?: boolean;
}

/** An option as given: `flag` as typed, `key` its long form (per-node options override by key). */
export interface GivenOption {
  key: string;
  flag: string;
  value: string | undefined;
  /** Node scope as typed after `:` (`1`, `1-3`, `w1,w2`); undefined = every node. */
  scope?: string;
}

export interface MultiArgv {
  /** Node names, or a single count. */
  positionals: string[];
  options: GivenOption[];
  passthrough: string[];
  /** The signal named by `-KILL`, `-9`, … (undefined: the command's default). */
  signal?: NodeJS.Signals;
}

/** multi's own options (consumed by multi, never passed to a node). */
export const MULTI_OWN_OPTIONS: OptionSpec[] = [
  { long: '--hostname', short: '-n', takesValue: true, own: true },
  { long: '--range-prefix', takesValue: true, own: true },
  { long: '--timeout', takesValue: true, own: true },
  { long: '--kill', takesValue: false, own: true },
  { long: '--quiet', short: '-q', takesValue: false, own: true },
  { long: '--verbose', takesValue: false, own: true },
  { long: '--env-file', takesValue: true, own: true },
];

const SIGNAL_NUMBERS = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** `-KILL`, `-SIGKILL`, `-9` → the signal; undefined if the word is not one. */
export function signalArg(arg: string): NodeJS.Signals | undefined {
  if (!/^-(?:SIG)?[A-Z0-9]+$/.test(arg)) return undefined;
  const body = arg.slice(1);
  if (/^\d+$/.test(body)) return SIGNAL_NUMBERS.get(Number(body));
  const name = (body.startsWith('SIG') ? body : `SIG${body}`) as NodeJS.Signals;
  return name in constants.signals ? name : undefined;
}

class OptionTable {
  private readonly byFlag = new Map<string, OptionSpec>();
  constructor(specs: OptionSpec[]) {
    for (const s of specs) {
      this.byFlag.set(s.long, s);
      if (s.short) this.byFlag.set(s.short, s);
    }
  }
  get(flag: string): OptionSpec {
    const spec = this.byFlag.get(flag);
    if (!spec) {
      throw new OptionError(
        `unknown option ${flag}: taskq multi passes on the options of \`taskq worker\` (see taskq worker --help) and its own ` +
          `(${MULTI_OWN_OPTIONS.map((o) => o.long).join(', ')}); put anything else after \`--\``,
      );
    }
    return spec;
  }
}

/** Splits `-c:1`, `--logfile:w1=/x` into flag, scope and inline value. */
function splitOption(arg: string): { flag: string; scope: string | undefined; inline: string | undefined } {
  const long = arg.startsWith('--');
  const eq = long ? arg.indexOf('=') : -1;
  const head = eq < 0 ? arg : arg.slice(0, eq);
  const inline = eq < 0 ? undefined : arg.slice(eq + 1);
  const colon = head.indexOf(':');
  if (colon < 0) return { flag: head, scope: undefined, inline };
  const scope = head.slice(colon + 1);
  if (!scope) throw new OptionError(`${arg}: nothing after ":" — name the nodes it is for, e.g. ${head}1 (the first node), ${head}1-3 or ${head}w1,w2`);
  return { flag: head.slice(0, colon), scope, inline };
}

/**
 * Parses the words after `taskq multi <command>`. `workerOptions` is the table of the worker's options
 * (which take a value); multi's own are added to it.
 */
export function parseMultiArgv(args: readonly string[], workerOptions: OptionSpec[]): MultiArgv {
  const table = new OptionTable([...workerOptions, ...MULTI_OWN_OPTIONS]);
  const out: MultiArgv = { positionals: [], options: [], passthrough: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      out.passthrough = args.slice(i + 1);
      break;
    }
    const signal = signalArg(arg);
    if (signal) {
      out.signal = signal;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    let { flag, scope, inline } = splitOption(arg);
    // `-c3`: a short option with its value attached.
    if (!flag.startsWith('--') && flag.length > 2 && scope === undefined) {
      inline = flag.slice(2);
      flag = flag.slice(0, 2);
    }
    const spec = table.get(flag);
    if (spec.own && scope !== undefined) throw new OptionError(`${arg}: ${spec.long} is taskq multi's own option and applies to every node; it cannot be given per node`);
    let value: string | undefined;
    if (spec.takesValue) {
      value = inline ?? args[++i];
      if (value === undefined || (inline === undefined && value.startsWith('-') && value !== '-')) {
        throw new OptionError(`${arg} needs a value (e.g. ${flag}${scope ? `:${scope}` : ''} ${flag === '-c' || flag === '--concurrency' ? '4' : '<value>'})`);
      }
    } else if (inline !== undefined) {
      throw new OptionError(`${arg}: ${spec.long} takes no value`);
    }
    out.options.push({ key: spec.long, flag, value, ...(scope === undefined ? {} : { scope }) });
  }
  return out;
}

/** The value of multi's own option `key` (the last given), if any. */
export function ownOption(argv: MultiArgv, key: string): string | undefined {
  let value: string | undefined;
  for (const o of argv.options) if (o.key === key) value = o.value ?? '';
  return value;
}
