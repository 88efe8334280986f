/** The logger of a long-running process (a worker node, a beat): stderr (human on a terminal) or a file. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { ExitCode, TaskqError } from '../errors.js';
import { expandIndex } from '../multi/node-name.js';
import { humanLogStream, wantsHumanLogs } from '../worker/log-format.js';
import type { CliIo } from './context.js';

/** The node's logger, and how to reopen its file after logrotate moved it (USR2). */
export function openLogger(options: { loglevel: string; logfile?: string | undefined }, io: CliIo): { log: Logger; reopen: () => void } {
  if (!options.logfile) {
    if (wantsHumanLogs(io.env, process.stderr.isTTY)) return { log: pino({ level: options.loglevel }, humanLogStream((t) => process.stderr.write(t))), reopen: () => {} };
    return { log: pino({ level: options.loglevel }, pino.destination({ dest: 2, sync: true })), reopen: () => {} };
  }
  const file = expandIndex(options.logfile, 0); // the node's main process is index 0 (%I → "")
  try {
    mkdirSync(dirname(file), { recursive: true });
    const destination = pino.destination({ dest: file, sync: true, mkdir: true });
    return { log: pino({ level: options.loglevel }, destination), reopen: () => destination.reopen() };
  } catch (cause) {
    throw new TaskqError('TASKQ_CANT_CREATE', `cannot open the log file ${file}: ${(cause as Error).message}`, {
      cause,
      exitCode: ExitCode.cantCreate,
    });
  }
}

