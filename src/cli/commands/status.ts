/** `taskq status`: queue counts and the worker nodes alive. */
import { Command } from 'commander';
import { aliveNodes, listQueues, queueStatus } from '../../core/queue-admin.js';
import { ExitCode } from '../../errors.js';
import { brokerOptions, withApp, type CliIo } from '../context.js';
import { queueList } from '../parse.js';
import { json, statusText } from '../presenter.js';

export function statusCommand(io: CliIo, exit: (code: number) => void): Command {
  return brokerOptions(new Command('status'))
    .description('show queues (waiting / active / delayed / dead) and the worker nodes alive')
    .option('-A, --app <module>', "module exporting the app (adds its queues)")
    .option('-Q, --queues <q1,q2>', 'only these queues', queueList)
    .option('--json', 'print JSON')
    .action(async (options: { app?: string; broker?: string; prefix?: string; queues?: string[]; json?: boolean }) => {
      await withApp(options, io, async (app) => {
        const nodes = await aliveNodes(app);
        // The queues live nodes consume too: an empty one may be out of the registry between heartbeats.
        const names = options.queues ?? (await listQueues(app, [...(options.app ? app.knownQueues() : []), ...nodes.flatMap((n) => n.queues ?? [])]));
        const queues = await queueStatus(app, names);
        io.stdout(options.json ? json({ queues, nodes }) : statusText(queues, nodes));
        exit(ExitCode.ok);
      });
    });
}
