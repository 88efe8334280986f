/**
 * `taskq ui -A <module>` (alias `taskq flower`): the web UI — dashboard, tasks, live events, HTTP API,
 * /metrics — on 127.0.0.1:5555 unless told otherwise. Prints its URL with the token changes need.
 */
import { Command, Option } from 'commander';
import { ExitCode } from '../../errors.js';
import { createWebServer } from '../../web/server.js';
import { uiSettings } from '../../web/ui-settings.js';
import { appFor, brokerOptions, type BrokerOptions, type CliIo } from '../context.js';
import { openLogger } from '../node-log.js';
import { logLevel, tcpPort } from '../parse.js';
import { runService } from '../service.js';

interface UiOptions extends BrokerOptions {
  host?: string;
  port?: number;
  token?: string;
  readOnly?: boolean;
  enableEvents?: boolean;
  loglevel: string;
}

export function uiCommand(io: CliIo, exit: (code: number) => void): Command {
  return brokerOptions(new Command('ui'))
    .alias('flower')
    .description('the web UI and HTTP API: nodes, queues, tasks, live events, /metrics (127.0.0.1:5555)')
    .option('-A, --app <module>', 'the app module (its tasks can be applied by name; without it, any name is sent)')
    .option('--host <addr>', 'address to bind (default TASKQ_UI_HOST or 127.0.0.1; elsewhere needs a token)')
    .option('--port <n>', 'port (default TASKQ_UI_PORT or 5555; 0: any free port)', tcpPort)
    .option('--token <token>', 'the token API calls need (default TASKQ_UI_TOKEN, or one made up for this run)')
    .option('--read-only', 'refuse every change (apply, revoke, retry, controls)')
    .option('--no-enable-events', "do not turn task events on in the worker nodes (the UI shows tasks only from nodes run with -E); default: it does, as Flower")
    .addOption(new Option('-l, --loglevel <level>', 'log level').default('info').argParser(logLevel))
    .action(async (o: UiOptions) => {
      const settings = uiSettings({ ...(o.host ? { host: o.host } : {}), ...(o.port !== undefined ? { port: o.port } : {}), ...(o.token ? { token: o.token } : {}), ...(o.readOnly ? { readOnly: true } : {}), ...(o.enableEvents === false ? { enableEvents: false } : {}) }, io.env);
      const { log } = openLogger({ loglevel: o.loglevel }, io);
      const app = await appFor(o, io);
      try {
        const server = await createWebServer(app, settings, log);
        const url = await server.listen();
        // The token in the fragment: the page keeps it for the tab; browsers never send fragments.
        const banner = `taskq ui on ${url}/ — open ${url}/#token=${settings.token}${settings.readOnly ? ' (read-only)' : ''}`;
        await runService(io, 'ui', { url, close: () => server.close() }, banner);
      } finally {
        await app.close();
      }
      exit(ExitCode.ok);
    });
}
