/** `taskq dead ls|retry|purge`: the dead-letter lists (jobs that failed for good, stalls included). */
import { Command } from 'commander';
import { listDead, listQueues, purgeDead, retryDead } from '../../core/queue-admin.js';
import { ExitCode, OptionError } from '../../errors.js';
import { appBrokerOptions, withApp, type BrokerOptions, type CliIo } from '../context.js';
import { positiveInt, queueList } from '../parse.js';
import { deadText, json } from '../presenter.js';

interface DeadOptions extends BrokerOptions {
  queues?: string[];
  json?: boolean;
  limit?: number;
  all?: boolean;
  force?: boolean;
}

function common(cmd: Command): Command {
  return appBrokerOptions(cmd)
    .option('-Q, --queues <q1,q2>', 'queues (default: all)', queueList)
    .option('--json', 'print JSON');
}

export function deadCommand(io: CliIo, exit: (code: number) => void): Command {
  const dead = new Command('dead').description('list, retry or purge jobs that failed for good');
  dead.addCommand(
    common(new Command('ls').description('list dead jobs, newest first'))
      .option('--limit <n>', 'at most this many', positiveInt, 100)
      .action(async (options: DeadOptions) => {
        await withApp(options, io, async (app) => {
          const jobs = await listDead(app, options.queues ?? (await listQueues(app)), options.limit);
          io.stdout(options.json ? json(jobs) : deadText(jobs));
          exit(ExitCode.ok);
        });
      }),
  );
  dead.addCommand(
    common(new Command('retry').description('send dead jobs back to their queue (attempts start again)'))
      .argument('[ids...]', 'job ids (or --all)')
      .option('--all', 'every dead job of the queues')
      .action(async (ids: string[], options: DeadOptions) => {
        if (!ids.length && !options.all) throw new OptionError('name the job ids to retry, or pass --all');
        await withApp(options, io, async (app) => {
          const jobs = await listDead(app, options.queues ?? (await listQueues(app)), Number.MAX_SAFE_INTEGER);
          const wanted = options.all ? jobs : jobs.filter((j) => ids.includes(j.id));
          const missing = options.all ? [] : ids.filter((id) => !jobs.some((j) => j.id === id));
          const retried: string[] = [];
          for (const q of new Set(wanted.map((j) => j.queue))) {
            retried.push(...(await retryDead(app, q, wanted.filter((j) => j.queue === q).map((j) => j.id))));
          }
          io.stdout(options.json ? json({ retried, missing }) : `re-queued ${retried.length} job(s)${missing.length ? `; not dead: ${missing.join(', ')}` : ''}\n`);
          exit(missing.length ? ExitCode.dataErr : ExitCode.ok);
        });
      }),
  );
  dead.addCommand(
    common(new Command('purge').description('delete dead jobs for good'))
      .option('-f, --force', 'really delete (required)')
      .action(async (options: DeadOptions) => {
        if (!options.force) throw new OptionError('dead purge deletes the jobs for good: add --force to confirm');
        await withApp(options, io, async (app) => {
          let n = 0;
          for (const q of options.queues ?? (await listQueues(app))) n += await purgeDead(app, q);
          io.stdout(options.json ? json({ purged: n }) : `purged ${n} dead job(s)\n`);
          exit(ExitCode.ok);
        });
      }),
  );
  return dead;
}
