/** Entry point of bin/taskq: runs the program and maps errors to sysexits codes. */
import { CommanderError } from 'commander';
import { ExitCode, TaskqError } from '../errors.js';
import { buildProgram } from './program.js';
import { hoistGlobalOptions } from './celery-compat.js';
import type { CliIo } from './context.js';

export async function main(argv: string[], io: CliIo): Promise<number> {
  let code: number | undefined;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    // Commands with subcommands of their own (and multi, which parses its own): options go after those.
    const nested = new Set(['multi', ...program.commands.filter((c) => c.commands.length > 0).map((c) => c.name())]);
    await program.parseAsync(hoistGlobalOptions(argv, nested), { from: 'user' });
    return code ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage; // commander already printed the message naming the option
    }
    if (err instanceof TaskqError) {
      io.stderr(`taskq: error: ${err.message} [${err.code}]\n`);
      return err.exitCode;
    }
    io.stderr(`taskq: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return ExitCode.software;
  }
}
