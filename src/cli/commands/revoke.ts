/** `taskq revoke`: tasks that have not started never will; with --terminate running ones are stopped. */
import { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { appBrokerOptions, withApp, type BrokerOptions, type CliIo } from '../context.js';
import { json, table } from '../presenter.js';

const meaning: Record<string, string> = {
  'REVOKED-NOW': 'revoked: it will not run',
  STARTED: 'running: left to finish (add --terminate to stop it)',
  TERMINATING: 'running: workers told to stop it',
  SUCCESS: 'already finished',
  FAILURE: 'already failed',
  REVOKED: 'already revoked',
};

export function revokeCommand(io: CliIo, exit: (code: number) => void): Command {
  return appBrokerOptions(new Command('revoke'))
    .description('revoke tasks by id: not started → never run; with --terminate, running ones are stopped')
    .argument('<ids...>', 'task ids')
    .option('-t, --terminate', 'also stop tasks that are running')
    .option('--json', 'print JSON')
    .action(async (ids: string[], options: BrokerOptions & { terminate?: boolean; json?: boolean }) => {
      await withApp(options, io, async (app) => {
        const found: Record<string, string> = {};
        for (const id of ids) found[id] = await app.revoke(id, { terminate: options.terminate ?? false });
        io.stdout(options.json ? json(found) : table(['ID', 'RESULT'], Object.entries(found).map(([id, r]) => [id, meaning[r] ?? r])));
        exit(ExitCode.ok);
      });
    });
}
