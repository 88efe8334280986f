/** Process entry of bin/taskq (kept apart from main() so tests can import main without running it). */
import { constants } from 'node:os';
import { DETACHED_ENV, PARENT_DEATH_ENV } from '../multi/node-process.js';
import { optionalNativeHelper } from '../worker/native.js';
import type { CliIo } from './context.js';
import { main } from './main.js';

// A daemonized node (taskq multi, worker --detach) also tells its starter why it could not start.
const starter = process.env[DETACHED_ENV] === '1' && process.connected;
delete process.env[DETACHED_ENV];

// A node `taskq up` runs attached gets SIGTERM when up dies, even by kill -9: it drains and stops
// instead of living on as an orphan holding its ports (the native helper's PR_SET_PDEATHSIG).
const parent = Number(process.env[PARENT_DEATH_ENV]);
delete process.env[PARENT_DEATH_ENV];
if (parent && optionalNativeHelper()?.setParentDeathSignal(constants.signals.SIGTERM, parent) === false) process.exit(0);

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
