/** Builds the `taskq` command line (a function, so tests can run it in-process). */
import { Command } from 'commander';
import { defaults } from '../defaults.js';
import { readFileSync } from 'node:fs';
import type { CliIo } from './context.js';
import { callCommand } from './commands/call.js';
import { deadCommand } from './commands/dead.js';
import { eventsCommand } from './commands/events.js';
import { purgeCommand } from './commands/purge.js';
import { resultCommand } from './commands/result.js';
import { statusCommand } from './commands/status.js';
import { workerCommand } from './commands/worker.js';
import { upCommand } from './commands/up.js';
import { revokeCommand } from './commands/revoke.js';
import { multiCommand } from './commands/multi.js';
import { controlCommand, inspectCommand } from './commands/control.js';
import { celeryOnlyCommands } from './celery-compat.js';
import { beatCommand } from './commands/beat.js';
import { captureCommand } from './commands/capture.js';
import { cacheCommand } from './commands/cache.js';
import { demoCommand } from './commands/demo.js';
import { uiCommand } from './commands/ui.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(io: CliIo, exit: (code: number) => void): Command {
  const program = new Command('taskq')
    .description('Celery-style distributed tasks for Node.js on Redis')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .enablePositionalOptions()
    .exitOverride()
    .addHelpText(
      'after',
      `
Options commands share, given after the command or before it in Celery's order
(taskq -A app.js worker -c 2):
  -A, --app <module>   the app module (default export or \`app\`): its tasks, or for commands
                       that need none (inspect, dead, …) its broker and key prefix
  -b, --broker <url>   Redis URL, every command that talks to Redis (TASKQ_BROKER_URL;
                       default ${defaults.brokerUrl})
  --prefix <prefix>    key prefix (TASKQ_KEY_PREFIX; default ${defaults.keyPrefix})

taskq <command> --help shows a command's own options.`,
    );
  for (const cmd of [
    workerCommand(io, exit),
    callCommand(io, exit),
    resultCommand(io, exit),
    statusCommand(io, exit),
    eventsCommand(io, exit),
    purgeCommand(io, exit),
    deadCommand(io, exit),
    revokeCommand(io, exit),
    upCommand(io, exit),
    multiCommand(io, exit),
    inspectCommand(io, exit),
    controlCommand(io, exit),
    beatCommand(io, exit),
    captureCommand(io, exit),
    cacheCommand(io, exit),
    demoCommand(io, exit),
    uiCommand(io, exit),
  ]) {
    program.addCommand(cmd);
  }
  for (const cmd of celeryOnlyCommands()) program.addCommand(cmd, { hidden: true });
  // Subcommands inherit output and exit handling.
  const configure = (cmd: Command): void => {
    cmd.configureOutput({ writeOut: io.stdout, writeErr: io.stderr }).exitOverride().showHelpAfterError('(run with --help for usage)');
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}
