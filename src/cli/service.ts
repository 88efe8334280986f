/**
 * A long-running CLI service (`cache serve`, `demo origin`): says where it listens, tells a starter
 * (`taskq up`) it is ready over IPC, runs until SIGTERM or SIGINT, then closes.
 */
import type { CliIo } from './context.js';

export async function runService(io: CliIo, name: string, started: { url: string; close(): Promise<void> }, banner: string): Promise<void> {
  io.stderr(`${banner}: ready\n`);
  if (process.connected) process.send?.({ type: 'ready', node: name, pid: process.pid, url: started.url }, undefined, {}, () => {});
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await started.close();
}
