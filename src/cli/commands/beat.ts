/**
 * `taskq beat -A <module>`: runs one beat process (beat/beat-service.ts) until TERM or INT. Run as many
 * as you like, on any hosts: one leads, the others stand by. A bad entry in the app's schedule stops it
 * at start, naming the entry (exit 78).
 */
import { Command, Option } from 'commander';
import { BeatService } from '../../beat/beat-service.js';
import { ExitCode, OptionError } from '../../errors.js';
import { beatEntryCommands } from './beat-entries.js';
import { acquirePidfile, releasePidfile } from '../../multi/pidfile.js';
import { expandNodeName } from '../../multi/node-name.js';
import { appFor, brokerOptions, type CliIo } from '../context.js';
import { openLogger } from '../node-log.js';
import { logLevel, positiveNumber } from '../parse.js';
import { beatBanner } from '../presenter.js';

interface BeatOptions {
  app: string;
  broker?: string;
  prefix?: string;
  loglevel: string;
  logfile?: string;
  pidfile?: string;
  lease?: number;
  hostname?: string;
}

async function runBeat(options: BeatOptions, io: CliIo): Promise<number> {
  const { log } = openLogger(options, io);
  const app = await appFor(options, io);
  const beat = new BeatService(app, log, {
    ...(options.lease ? { leaseMs: options.lease * 1000 } : {}),
    ...(options.hostname ? { name: expandNodeName(options.hostname) } : {}),
  });
  if (options.pidfile) acquirePidfile(options.pidfile);
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'beat: stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  try {
    await beat.start();
    io.stderr(beatBanner({ name: beat.name, pid: process.pid, broker: app.redis.display, app: options.app, entries: beat.entries.map((e) => ({ name: e.name, task: e.spec.task, when: e.spec.cron ? `cron ${e.spec.cron}${e.spec.timezone ? ` ${e.spec.timezone}` : ''}` : `every ${String(e.spec.every)}` })) }));
    if (process.connected) process.send?.({ type: 'ready', node: beat.name, pid: process.pid }, undefined, {}, () => {});
    await stopped;
  } finally {
    await beat.stop();
    await app.close();
    if (options.pidfile) releasePidfile(options.pidfile);
  }
  return ExitCode.ok;
}

export function beatCommand(io: CliIo, exit: (code: number) => void): Command {
  const beat = brokerOptions(new Command('beat'))
    .description("send the app's periodic tasks (beatSchedule); run several: one leads, the others stand by. Subcommands change the schedule at run time")
    .option('-A, --app <module>', 'module exporting the app whose beatSchedule to send')
    .addOption(new Option('-l, --loglevel <level>', 'log level').default('info').argParser(logLevel))
    .option('--logfile <file>', 'log to this file instead of stderr')
    .option('--pidfile <file>', 'write the pid here; refuse to start if a live beat holds it')
    .option('-n, --hostname <name>', 'this beat\'s name in logs and events (default beat<pid>@%h)')
    .option('--lease <s>', 'leader lease: a standby takes over within it when the leader dies (default 5)', positiveNumber)
    .action(async (options: BeatOptions) => {
      if (!options.app) throw new OptionError('taskq beat needs -A <module>: the app whose beatSchedule to send');
      exit(await runBeat(options, io));
    });
  for (const cmd of beatEntryCommands(io, exit)) beat.addCommand(cmd);
  return beat;
}
