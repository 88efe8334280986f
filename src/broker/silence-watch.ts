/**
 * Notices a Redis that keeps its connections open but stops answering: a frozen or swamped server, a
 * network path that drops packets without resetting. ioredis sees no error then (commands just wait),
 * so nothing else would say so. A ping goes out whenever none is waiting; one that has waited
 * `afterMs` is reported once, and its answer reported when it comes.
 */
export interface SilenceWatchOptions {
  /** Report a ping unanswered for this long (ms). */
  afterMs: number;
  /** Sends one ping; resolves on its answer. */
  ping: () => Promise<unknown>;
  /** Whether the connection is up: a lost connection is reported where it is noticed, not here. */
  connected: () => boolean;
  /** A ping has waited `silentMs` so far. */
  silent: (silentMs: number) => void;
  /** The ping reported as silent has its answer, `silentMs` after it was sent. */
  answered: (silentMs: number) => void;
  /** Stops the watch. */
  signal: AbortSignal;
  now?: () => number;
}

/** Starts watching; runs until `signal` aborts. Checks five times per `afterMs`. */
export function watchSilence(options: SilenceWatchOptions): void {
  const now = options.now ?? Date.now;
  let sentAt: number | undefined;
  let reported = false;
  let round = 0; // a ping from before a lost connection says nothing about the one after
  const check = (): void => {
    if (!options.connected()) {
      sentAt = undefined;
      reported = false;
      round++;
      return;
    }
    if (sentAt === undefined) {
      const mine = ++round;
      const at = (sentAt = now());
      const settle = (answered: boolean): void => {
        if (mine !== round) return;
        if (answered && reported) options.answered(now() - at);
        sentAt = undefined;
        reported = false;
      };
      options.ping().then(() => settle(true), () => settle(false));
    } else if (!reported && now() - sentAt >= options.afterMs) {
      reported = true;
      options.silent(now() - sentAt);
    }
  };
  const timer = setInterval(check, Math.max(10, Math.floor(options.afterMs / 5)));
  timer.unref();
  options.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
