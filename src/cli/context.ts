/** What every command gets: output streams, environment, and how to build the app it works on. */
import type { Command } from 'commander';
import type { App } from '../core/app.js';
import { createApp } from '../core/app.js';
import { loadApp } from '../core/load-app.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface BrokerOptions {
  app?: string;
  broker?: string;
  prefix?: string;
}

/**
 * The app a command works on: the `-A` module's, or a bare app on `--broker` (sending by name works
 * without the task code). `--broker` / `--prefix` reach the module through TASKQ_* variables, so an
 * app written as `createApp({ broker: process.env.TASKQ_BROKER_URL })` follows them.
 */
export async function appFor(options: BrokerOptions, io: CliIo): Promise<App> {
  if (options.broker) io.env.TASKQ_BROKER_URL = options.broker;
  if (options.prefix) io.env.TASKQ_KEY_PREFIX = options.prefix;
  if (options.app) return loadApp(options.app, io.cwd);
  return createApp({ broker: io.env.TASKQ_BROKER_URL, keyPrefix: io.env.TASKQ_KEY_PREFIX });
}

/** Adds the options every broker-facing command shares: `-b/--broker` and `--prefix`. */
export function brokerOptions(cmd: Command): Command {
  return cmd
    .option('-b, --broker <url>', 'broker URL (overrides TASKQ_BROKER_URL)')
    .option('--prefix <prefix>', 'Redis key prefix (overrides TASKQ_KEY_PREFIX)');
}

/** The broker options, and `-A` for commands that need no tasks, only the app's broker and key prefix (`celery -A proj inspect …`). */
export function appBrokerOptions(cmd: Command): Command {
  return brokerOptions(cmd).option('-A, --app <module>', "the app module: its broker and key prefix (Celery's -A)");
}

/** Runs `fn` with the command's app and closes the app afterwards, whatever happens. */
export async function withApp<T>(options: BrokerOptions, io: CliIo, fn: (app: App) => Promise<T>): Promise<T> {
  const app = await appFor(options, io);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
