/**
 * `capture.run` (q_pcap): the long-running capture on the capture node. Sniffs the configured
 * interface for HTTP on the configured ports (and TLS on 443, for server names), reassembles, and
 * sends what it sees to analyze in batches; reports its counters as task progress. Runs until it is
 * revoked (`taskq capture stop`) or its node stops: then it gives its job back, so the next capture
 * node takes it over.
 */
import type { App } from '../../core/app.js';
import type { TaskContext } from '../../core/context.js';
import { FlowTracker } from '../../capture/flow-tracker.js';
import { openLive } from '../../capture/live-source.js';
import type { Observation } from '../../capture/observation.js';
import { captureFilter, DEFAULT_PORTS } from '../../capture/filter.js';

export interface CaptureOptions {
  device?: string;
  /** TCP ports HTTP is sniffed on (default 80, 8080, 8000, 3128). */
  ports?: number[];
  /** Also read TLS ClientHellos on 443 for server names (default true). */
  tls?: boolean;
  /** Observations per analyze job, and the longest they wait (ms). */
  batchSize?: number;
  flushMs?: number;
  /** How often counters are reported (ms). */
  statsMs?: number;
}

export function registerCapture(app: App): void {
  app.task(
    'capture.run',
    async (ctx: TaskContext, options: CaptureOptions = {}) => {
      const ports = options.ports ?? DEFAULT_PORTS;
      const batchSize = options.batchSize ?? 100;
      let batch: Observation[] = [];
      let sent = 0;
      const flush = (): void => {
        if (!batch.length) return;
        const out = batch;
        batch = [];
        sent += out.length;
        app.send('analyze.observations', [out], {}, { queue: 'q_analyze' }).catch((err: unknown) => ctx.log.error({ err }, 'capture: could not send observations to analyze'));
      };
      const tracker = new FlowTracker({ serverPorts: ports, onObservation: (o) => (batch.push(o), batch.length >= batchSize && flush()) });
      const source = openLive({ device: options.device ?? 'lo', filter: captureFilter(ports, options.tls ?? true) }, (f, type, ts) => tracker.push(f, type, ts), (err) => ctx.log.error({ err }, 'capture: a packet could not be handled'));
      const report = (): Record<string, number> => ({ ...tracker.counters, ...tracker.reassembly.counters, sent, dropped: source.stats().dropped });
      const timers = [
        setInterval(flush, options.flushMs ?? 500),
        setInterval(() => tracker.evictIdle(Date.now()), 1000),
        setInterval(() => void ctx.progress(report()).catch(() => {}), options.statsMs ?? 5000),
      ];
      ctx.log.info({ device: options.device ?? 'lo', ports }, 'capture: started');
      await ctx.progress(report()).catch(() => undefined); // counters from the start, not only after the first period
      try {
        // Aborted already (the node stopped while this was starting): an abort listener would never fire.
        if (!ctx.signal.aborted) await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      } finally {
        timers.forEach(clearInterval);
        source.close();
        tracker.close();
        flush();
      }
      // Revoked: REVOKED. The node stopping: WorkerShutdown, so the job goes back for the next capture node.
      throw ctx.signal.reason;
    },
    { bind: true, untilStopped: true },
  );
}
