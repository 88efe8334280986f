/** `taskq result`: shows a task's state and result; --wait waits until it is ready. */
import { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { appBrokerOptions, withApp, type CliIo } from '../context.js';
import { nonNegativeNumber } from '../parse.js';
import { json, resultText } from '../presenter.js';

export function resultCommand(io: CliIo, exit: (code: number) => void): Command {
  return appBrokerOptions(new Command('result'))
    .description("show a task's state and result")
    .argument('<id>', 'task id')
    .option('-w, --wait', 'wait until the task is ready')
    .option('--timeout <s>', 'with --wait: give up after this many seconds (exit 75)', nonNegativeNumber)
    .option('--json', 'print the whole result record as JSON')
    .action(async (id: string, options: { broker?: string; prefix?: string; wait?: boolean; timeout?: number; json?: boolean }) => {
      await withApp(options, io, async (app) => {
        const r = app.result(id);
        if (options.wait) await r.get({ timeout: (options.timeout ?? 0) * 1000, propagate: false });
        const rec = await r.info();
        io.stdout(options.json ? json(rec ?? { id, state: 'PENDING' }) : resultText(id, rec));
        exit(rec && (rec.state === 'FAILURE' || rec.state === 'REVOKED') ? ExitCode.failure : ExitCode.ok);
      });
    });
}
