/**
 * `taskq capture --read FILE [--json]`: the HTTP requests (and TLS server names) in a pcap or pcapng
 * file, found by the same code the capture node runs on live traffic. One line per request; `--json`:
 * one object per line with url, method, host, ts, src, dst.
 */
import { Command } from 'commander';
import { CaptureFileError } from '../../capture/capture-file.js';
import type { Observation } from '../../capture/observation.js';
import { readCaptureFile } from '../../capture/read-file.js';
import { ExitCode, TaskqError } from '../../errors.js';
import type { CliIo } from '../context.js';

function line(o: Observation, json: boolean): string {
  if (json) return `${JSON.stringify({ kind: o.kind, url: o.url, method: o.method, host: o.host, ts: o.ts, src: o.src, dst: o.dst, ...(o.headers && Object.keys(o.headers).length ? { headers: o.headers } : {}) })}\n`;
  const when = new Date(o.ts).toISOString();
  return o.kind === 'http' ? `${when}  ${o.method} ${o.url}\n` : `${when}  ${o.kind === 'tls' ? 'TLS' : 'CONNECT'} ${o.host}\n`;
}

export function captureCommand(io: CliIo, exit: (code: number) => void): Command {
  return new Command('capture')
    .description('list the HTTP requests (and TLS server names) in a pcap or pcapng capture file')
    .requiredOption('--read <file>', 'the capture file (pcap or pcapng, any link type libpcap writes for Ethernet, Linux cooked, raw IP, loopback)')
    .option('--json', 'one JSON object per line: kind, url, method, host, ts (ms), src, dst')
    .option('--http-only', 'only HTTP requests (no TLS server names or CONNECT targets)')
    .action(async (options: { read: string; json?: boolean; httpOnly?: boolean }) => {
      try {
        const counters = await readCaptureFile(options.read, (o) => {
          if (!options.httpOnly || o.kind === 'http') io.stdout(line(o, options.json ?? false));
        });
        if (!options.json) io.stderr(`${counters.packets} packets, ${counters.requests} HTTP requests, ${counters.tlsHellos} TLS hellos, ${counters.badRequests} refused, ${counters.notTcp} not TCP\n`);
        exit(ExitCode.ok);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (err instanceof CaptureFileError) throw new TaskqError('TASKQ_CAPTURE_FILE_INVALID', `${options.read}: ${e.message}`, { exitCode: ExitCode.dataErr });
        if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') throw new TaskqError('TASKQ_CAPTURE_FILE_INVALID', `cannot read ${options.read}: ${e.message}`, { exitCode: ExitCode.noInput });
        throw err;
      }
    });
}
