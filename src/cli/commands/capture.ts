/**
 * `taskq capture --read FILE [--json]`: the HTTP requests (and TLS server names) in a pcap or pcapng
 * file, found by the same code the capture node runs on live traffic. One line per request; `--json`:
 * one object per line with url, method, host, ts, src, dst.
 */
import { Command } from 'commander';
import { CaptureFileError } from '../../capture/capture-file.js';
import type { Observation } from '../../capture/observation.js';
import { readCaptureFile } from '../../capture/read-file.js';
import { ExitCode, OptionError, TaskqError } from '../../errors.js';
import { captureFilter, DEFAULT_PORTS } from '../../capture/filter.js';
import { aliveNodes } from '../../core/queue-admin.js';
import { appBrokerOptions, brokerOptions, withApp, type BrokerOptions, type CliIo } from '../context.js';

function line(o: Observation, json: boolean): string {
  if (json) return `${JSON.stringify({ kind: o.kind, url: o.url, method: o.method, host: o.host, ts: o.ts, src: o.src, dst: o.dst, ...(o.headers && Object.keys(o.headers).length ? { headers: o.headers } : {}) })}\n`;
  const when = new Date(o.ts).toISOString();
  return o.kind === 'http' ? `${when}  ${o.method} ${o.url}\n` : `${when}  ${o.kind === 'tls' ? 'TLS' : 'CONNECT'} ${o.host}\n`;
}

interface StartOptions extends BrokerOptions {
  app: string;
  device: string;
  ports?: number[];
  tls: boolean;
}

/** `taskq capture start|stop`: the long-running capture task on the capture node (q_pcap), one per interface. */
function controlCommands(io: CliIo, exit: (code: number) => void): Command[] {
  const device = (cmd: Command): Command => cmd.option('--device <name>', 'the interface to capture on', 'lo');
  const withDevice = (cmd: Command): Command => device(brokerOptions(cmd).requiredOption('-A, --app <module>', 'the app with the capture task (dist/app.js)'));
  return [
    withDevice(new Command('start'))
      .description('start capturing on an interface (a capture node runs it until stopped)')
      .option('--ports <p1,p2>', `TCP ports HTTP is sniffed on (default ${DEFAULT_PORTS.join(',')})`, (v: string) => v.split(',').map((p) => Number(p.trim())))
      .option('--no-tls', 'do not read TLS server names on 443')
      .action(async (o: StartOptions) => {
        await withApp(o, io, async (app) => {
          captureFilter(o.ports ?? DEFAULT_PORTS, o.tls); // checks the ports before anything is sent
          const id = `capture:${o.device}`;
          await app.send('capture.run', [{ device: o.device, ...(o.ports ? { ports: o.ports } : {}), tls: o.tls }], {}, { jobId: id });
          io.stdout(`capture on ${o.device} sent to q_pcap (job ${id}); \`taskq result ${id}\` shows its counters (updated every 5 s), \`taskq capture stop --device ${o.device}\` ends it\n`);
          if (!(await aliveNodes(app)).some((n) => n.queues?.includes('q_pcap'))) io.stderr('taskq: note: no live worker node consumes q_pcap now: the capture starts when a capture node does (taskq up, or taskq worker -Q q_pcap)\n');
          exit(ExitCode.ok);
        });
      }),
    // Stopping needs no app: it revokes the capture job by its id.
    device(appBrokerOptions(new Command('stop')))
      .description('stop the capture on an interface')
      .action(async (o: StartOptions) => {
        await withApp(o, io, async (app) => {
          const result = await app.revoke(`capture:${o.device}`, { terminate: true });
          io.stdout(`capture on ${o.device}: ${result}\n`);
          exit(ExitCode.ok);
        });
      }),
  ];
}

export function captureCommand(io: CliIo, exit: (code: number) => void): Command {
  const cmd = new Command('capture')
    .description('list the HTTP requests (and TLS server names) in a capture file; start or stop live capture')
    .option('--read <file>', 'the capture file (pcap or pcapng, any link type libpcap writes for Ethernet, Linux cooked, raw IP, loopback)')
    .option('--filter <bpf>', 'only packets this BPF filter passes, e.g. "tcp port 8080" (read through libpcap)')
    .option('--json', 'one JSON object per line: kind, url, method, host, ts (ms), src, dst')
    .option('--http-only', 'only HTTP requests (no TLS server names or CONNECT targets)')
    .action(async (options: { read?: string; json?: boolean; httpOnly?: boolean; filter?: string }) => {
      if (!options.read) throw new OptionError('taskq capture needs --read <file>, or a subcommand: start, stop (taskq capture --help)');
      const file = options.read;
      try {
        const counters = await readCaptureFile(
          file,
          (o) => {
            if (!options.httpOnly || o.kind === 'http') io.stdout(line(o, options.json ?? false));
          },
          options.filter,
        );
        if (!options.json) io.stderr(`${counters.packets} packets, ${counters.requests} HTTP requests, ${counters.tlsHellos} TLS hellos, ${counters.badRequests} refused, ${counters.notTcp} not TCP\n`);
        exit(ExitCode.ok);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (err instanceof CaptureFileError) throw new TaskqError('TASKQ_CAPTURE_FILE_INVALID', `${file}: ${e.message}`, { exitCode: ExitCode.dataErr });
        if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') throw new TaskqError('TASKQ_CAPTURE_FILE_INVALID', `cannot read ${file}: ${e.message}`, { exitCode: ExitCode.noInput });
        throw err;
      }
    });
  for (const sub of controlCommands(io, exit)) cmd.addCommand(sub);
  return cmd;
}
