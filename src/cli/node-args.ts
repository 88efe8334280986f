/** A node's `taskq worker` arguments as `taskq multi` and `taskq up` build them: the grammar's table, and the check. */
import { Command, CommanderError } from 'commander';
import { OptionError } from '../errors.js';
import type { OptionSpec } from '../multi/multi-argv.js';
import type { MultiNode } from '../multi/node-spec.js';
import { withWorkerOptions } from './commands/worker.js';

/** The worker's options, as the multi grammar needs them (which take a value). */
export function workerOptionTable(): OptionSpec[] {
  return withWorkerOptions(new Command('worker')).options.map((o) => ({ long: o.long as string, short: o.short, takesValue: o.required || o.optional }));
}

/** Parses `node.argv` with the worker's own parsers, before anything starts; a bad value names the node. */
export function checkNodeArgv(node: MultiNode): void {
  const probe = withWorkerOptions(new Command('worker'))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .action(() => {});
  try {
    probe.parse(node.argv, { from: 'user' });
  } catch (err) {
    const msg = err instanceof CommanderError ? err.message.replace(/^error: /, '') : (err as Error).message;
    throw new OptionError(`node ${node.name}: ${msg}`);
  }
}
