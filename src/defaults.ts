/**
 * The one source of default values. Config loaders, the CLI's help text and the docs read from here;
 * nothing else hard-codes a default.
 */
export const defaults = {
  /** Broker used when neither the app nor TASKQ_BROKER_URL names one. */
  brokerUrl: 'redis://127.0.0.1:6379/0',
  /** Prefix of every Redis key taskq writes. */
  keyPrefix: 'taskq',
  /** Queue used by tasks that no route or option sends elsewhere. */
  defaultQueue: 'default',
  /** How long results live in Redis (ms): 1 day, as Celery's result_expires. */
  resultExpiresMs: 24 * 60 * 60 * 1000,
  /** Max retries of a task that has a retry policy but no explicit count (Celery's max_retries). */
  maxRetries: 3,
  /** Base delay between retries (ms) when a task asks for a retry without a countdown. */
  retryDelayMs: 1000,
  /** Cap on the exponential backoff delay (ms) (Celery's retry_backoff_max is 600 s). */
  retryBackoffMaxMs: 600_000,
  /**
   * How a send waits out a broker outage before failing with BrokerUnavailableError (seconds; Celery's
   * names). Celery's default gives up after 0.4 s; this one waits about 20 s, so a Redis restart does
   * not fail producers.
   */
  publishRetryPolicy: { maxRetries: 10, intervalStart: 0, intervalStep: 0.5, intervalMax: 3 },
  /** A job whose worker has not shown life for this long is re-delivered (ms). */
  stallIntervalMs: 5000,
  /** A job re-delivered this many times after stalls fails for good and goes to the dead-letter list. */
  maxStalls: 3,
  /**
   * Approximate length the event stream is trimmed to: a minute at 5,000 jobs/s is about 1.2 million
   * events (4 a job), so a reader that reconnects within a minute misses nothing. About 165 bytes an
   * event in Redis: up to ~250 MB when full; lower it on small machines.
   */
  eventsMaxLen: 1_500_000,
  /** Events older than this are trimmed as well (ms): 10 minutes. */
  eventsMaxAgeMs: 10 * 60 * 1000,
  /** Dead letters kept per queue, the newest (Celery keeps none; BullMQ keeps all by default). */
  deadMaxLen: 10_000,
  /** Dead letters older than this are deleted, with their records (ms): 7 days. */
  deadMaxAgeMs: 7 * 24 * 60 * 60 * 1000,
  /** Worker heartbeat period (ms); a node is offline after `heartbeatMs * 3` without one. */
  heartbeatMs: 2000,
  /** Jobs run at once by a worker node. */
  concurrency: 4,
  /** Polling window for delayed jobs (ms): workers re-check at least this often. */
  delayedWindowMs: 20 * 60 * 1000,
  /** How long a warm shutdown waits for running jobs before aborting them (ms). */
  shutdownTimeoutMs: 30_000,
  /** After the shutdown timeout aborts jobs, how long they get to end before they are requeued as they run (ms). */
  shutdownGraceMs: 5000,
  /** The longest a node's shutdown waits for one step that needs Redis (ms): it stops even with Redis gone. */
  shutdownStepMs: 5000,
  /** A node logs a Redis that keeps its connection open but has not answered a ping for this long (ms). */
  redisSilenceMs: 5000,
  /** A node whose outcome writes keep failing this long stops taking work until they succeed (ms). */
  outcomeTroubleMs: 30_000,
  /** Revoked ids kept (newest first) so that nodes starting later honour them (Celery keeps 50,000). */
  revokedMax: 50_000,
  /** How long a revoked id is kept (ms): 3 h, as Celery. */
  revokedTtlMs: 3 * 60 * 60 * 1000,
  /** Delayed jobs due within this window are raised together (ms); bounds how late a due job starts. */
  delayedDebounceMs: 10,
  /** A rate-limited job whose start slot is further away than this goes back to `delayed` (ms). */
  rateHorizonMs: 1000,
  /** The longest countdown or expires (s): 10 years. Beyond it a value is a mistake (1e300), not a plan. */
  maxDelaySeconds: 10 * 365 * 24 * 3600,
  /** The most slots a node may have (-c): more is a typo, and each slot holds memory. */
  maxConcurrency: 10_000,
  /** How long `taskq call --wait` and `get()` without a timeout wait. `0` = forever. */
  resultWaitMs: 0,
  /** `taskq multi`: where each node's pidfile goes (Celery's /var/run/celery/%n.pid). */
  multiPidfile: '/var/run/taskq/%n.pid',
  /** `taskq multi`: where each node logs; %I gives each pool child its own file. */
  multiLogfile: '/var/log/taskq/%n%I.log',
  /** `taskq multi start 3` names its nodes <prefix>1..3 (Celery: celery1..3). */
  multiRangePrefix: 'taskq',
  /** The most nodes one `taskq multi` line may name. */
  multiMaxNodes: 1000,
  /** The beat leader's lease (ms): a standby beat takes over within it when the leader dies. */
  beatLeaseMs: 5000,
  /** How long `taskq multi start` / `worker --detach` waits for a node to report it is consuming (ms). */
  nodeReadyTimeoutMs: 30_000,
  /** The flagship cache: its folder under the working directory (TASKQ_CACHE_DIR). */
  cacheDir: '.state/cache',
  /** The cache's size limit (bytes, TASKQ_CACHE_MAX_BYTES): the least recently used entries go first. */
  cacheMaxBytes: 10 * 1024 ** 3,
  /** The cache server's address (TASKQ_CACHE_HOST, TASKQ_CACHE_PORT): loopback unless told otherwise. */
  cacheHost: '127.0.0.1',
  cachePort: 8390,
  /** The web UI's address (`taskq ui`; TASKQ_UI_HOST, TASKQ_UI_PORT): loopback, Flower's port. */
  uiHost: '127.0.0.1',
  uiPort: 5555,
  /** Tasks the web UI keeps in memory (the least recently updated go first), and events per task. */
  uiMaxTasks: 10_000,
  /**
   * The web UI turns task events on in every node at start, in each node that comes online, and
   * again this often (ms) for one it missed (Flower's events_enable_interval is 5 s).
   */
  uiEnableEventsMs: 30_000,
  uiMaxEventsPerTask: 50,
  /** A download's lease on its resource (ms, TASKQ_DOWNLOAD_LEASE_MS): a killed node's download is taken over within it. */
  downloadLeaseMs: 10_000,
  /** The longest URL a download accepts (characters). */
  downloadMaxUrl: 8192,
} as const;

export type Defaults = typeof defaults;
