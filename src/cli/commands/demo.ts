/**
 * `taskq demo origin`: a local video origin for trying the accelerator — a generated MP4 and an HLS
 * set (ffmpeg) served on loopback with Range, on a port the capture watches by default (8000).
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { demoMedia } from '../../demo/media.js';
import { startOrigin } from '../../demo/origin.js';
import { ConfigError, ExitCode } from '../../errors.js';
import type { CliIo } from '../context.js';
import { tcpPort } from '../parse.js';
import { runService } from '../service.js';

function envPort(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new ConfigError('TASKQ_CONFIG_INVALID', `TASKQ_DEMO_PORT=${JSON.stringify(raw)}: expected a TCP port, 0 to 65535`);
  return Number(raw);
}

export function demoCommand(io: CliIo, exit: (code: number) => void): Command {
  const cmd = new Command('demo').description('a local video origin to try the accelerator with');
  cmd.addCommand(
    new Command('origin')
      .description('serve a generated MP4 (/demo.mp4) and HLS set (/hls/index.m3u8) on loopback')
      .option('--host <addr>', 'address to bind', '127.0.0.1')
      .option('--port <n>', 'port, one the capture watches: 80, 8080, 8000, 3128 (default TASKQ_DEMO_PORT or 8000)', tcpPort)
      .option('--dir <dir>', 'where the generated videos are kept (default TASKQ_DEMO_DIR or .state/demo)')
      .action(async (o: { host: string; port?: number; dir?: string }) => {
        const files = await demoMedia(resolve(io.cwd, o.dir ?? (io.env.TASKQ_DEMO_DIR || '.state/demo')));
        o.port ??= io.env.TASKQ_DEMO_PORT ? envPort(io.env.TASKQ_DEMO_PORT) : 8000;
        const origin = await startOrigin({ files, host: o.host, port: o.port });
        await runService(io, 'demo', origin, `demo origin on ${origin.url}: ${origin.url}/demo.mp4 and ${origin.url}/hls/index.m3u8`);
        exit(ExitCode.ok);
      }),
  );
  return cmd;
}
