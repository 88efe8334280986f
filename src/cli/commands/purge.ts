/** `taskq purge`: deletes the jobs waiting (and delayed) in queues. Running jobs are not touched. */
import { Command } from 'commander';
import { aliveNodes, listQueues, purgeQueue } from '../../core/queue-admin.js';
import { ExitCode, OptionError } from '../../errors.js';
import { appBrokerOptions, withApp, type CliIo } from '../context.js';
import { queueList } from '../parse.js';
import { json } from '../presenter.js';

export function purgeCommand(io: CliIo, exit: (code: number) => void): Command {
  return appBrokerOptions(new Command('purge'))
    .description('delete every waiting and delayed job of the given queues')
    .requiredOption('-Q, --queues <q1,q2>', 'queues to purge', queueList)
    .option('-f, --force', 'really delete (required: purge cannot be undone)')
    .option('--json', 'print JSON')
    .action(async (options: { queues: string[]; force?: boolean; broker?: string; prefix?: string; json?: boolean }) => {
      if (!options.force) {
        throw new OptionError(`purge deletes every waiting job of ${options.queues.join(', ')} and cannot be undone: add --force to confirm`);
      }
      await withApp(options, io, async (app) => {
        const counts: Record<string, number> = {};
        const known = await listQueues(app, (await aliveNodes(app)).flatMap((n) => n.queues ?? []));
        for (const q of options.queues) {
          if (!known.includes(q)) io.stderr(`taskq: note: no queue ${JSON.stringify(q)} is known (none sent to it, no live node consumes it): a typo? Known: ${known.join(', ') || 'none'}\n`);
          counts[q] = await purgeQueue(app, q);
        }
        io.stdout(options.json ? json(counts) : Object.entries(counts).map(([q, n]) => `purged ${n} job(s) from ${q}\n`).join(''));
        exit(ExitCode.ok);
      });
    });
}
