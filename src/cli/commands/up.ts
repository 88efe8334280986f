/**
 * `taskq up` (what `npm start` runs): the flagship app on this machine. Starts a private redis-server
 * under the state folder unless TASKQ_BROKER_URL names a broker, then the app's worker nodes; says
 * what runs where; Ctrl-C stops everything cleanly.
 */
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import { flagshipNodes } from '../../app-nodes.js';
import { LocalRedis } from '../../broker/local-redis.js';
import { ExitCode } from '../../core/errors.js';
import { Supervisor } from '../../multi/supervisor.js';
import type { CliIo } from '../context.js';
import { upText } from '../presenter.js';

const appModule = fileURLToPath(new URL('../../app.js', import.meta.url));

export function upCommand(io: CliIo, exit: (code: number) => void): Command {
  return new Command('up')
    .description('run the flagship app here: a private Redis (unless TASKQ_BROKER_URL is set) and its worker nodes')
    .option('--state-dir <dir>', 'where Redis data and logs go', '.state')
    .addOption(
      new Option('--appendfsync <when>', 'private Redis: fsync the AOF every second (may lose the last second on a crash) or before every reply (loses nothing, slower)')
        .choices(['everysec', 'always'])
        .default('everysec')
        .env('TASKQ_REDIS_APPENDFSYNC'),
    )
    .action(async (options: { stateDir: string; appendfsync: 'everysec' | 'always' }) => {
      const state = resolve(io.cwd, options.stateDir);
      let redis: LocalRedis | undefined;
      let broker = io.env.TASKQ_BROKER_URL;
      if (!broker) {
        redis = new LocalRedis({ dir: join(state, 'redis'), ownProcessGroup: true, appendfsync: options.appendfsync });
        await redis.start();
        broker = redis.url;
      }
      const supervisor = new Supervisor();
      const stopped = new Promise<number>((done) => {
        const stop = (): void => done(ExitCode.ok);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        supervisor.once('exit', (node: { name: string; output: string }, code: number | null, signal: string | null) => {
          io.stderr(`taskq up: node ${node.name} exited (${signal ?? code}); stopping everything\n${node.output.slice(-2000)}`);
          done(ExitCode.software);
        });
      });
      let code: number = ExitCode.ok;
      try {
        const host = hostname();
        for (const spec of flagshipNodes) {
          await supervisor.start({
            name: spec.name,
            args: ['-A', appModule, '-Q', spec.queues.join(','), '-c', String(spec.concurrency), '-n', `${spec.name}@%h`, '--logfile', join(state, 'logs', `${spec.name}.log`)],
            env: { TASKQ_BROKER_URL: broker },
          });
        }
        io.stdout(
          upText({
            broker,
            redisDir: redis ? join(state, 'redis') : undefined,
            nodes: supervisor.nodes.map((n) => {
              const spec = flagshipNodes.find((s) => s.name === n.name)!;
              return { node: `${n.name}@${host}`, pid: n.pid, queues: spec.queues, concurrency: spec.concurrency, log: join(state, 'logs', `${n.name}.log`) };
            }),
          }),
        );
        code = await stopped;
        io.stdout('stopping…\n');
      } finally {
        await supervisor.stopAll();
        await redis?.stop();
      }
      io.stdout('stopped\n');
      exit(code);
    });
}
