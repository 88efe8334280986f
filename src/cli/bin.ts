/** Process entry of bin/taskq (kept apart from main() so tests can import main without running it). */
import type { CliIo } from './context.js';
import { main } from './main.js';

const io: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
};

const code = await main(process.argv.slice(2), io);
// Flush stdout before exiting: a pipe may still hold output.
process.stdout.write('', () => process.exit(code));
