/** Process entry of bin/taskq (kept apart from main() so tests can import main without running it). */
import { DETACHED_ENV } from '../multi/node-process.js';
import type { CliIo } from './context.js';
import { main } from './main.js';

// A daemonized node (taskq multi, worker --detach) also tells its starter why it could not start.
const starter = process.env[DETACHED_ENV] === '1' && process.connected;
delete process.env[DETACHED_ENV];

const io: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => {
    process.stderr.write(t);
    if (starter && process.connected) process.send?.({ type: 'failed', message: t }, undefined, {}, () => {});
  },
  env: process.env,
  cwd: process.cwd(),
};

const code = await main(process.argv.slice(2), io);
// Flush stdout before exiting: a pipe may still hold output.
process.stdout.write('', () => process.exit(code));
