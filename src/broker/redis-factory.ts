/**
 * The one place taskq creates Redis connections. Everything — producers, result waiters, the
 * bee-queue adapter, workers, the event reader, the CLI — gets its clients from a RedisFactory, so
 * connection options, naming and reconnect behaviour are decided once.
 */
import { EventEmitter } from 'node:events';
import { Redis as IORedis, type RedisOptions } from 'ioredis';
import { BrokerUnavailableError, ConfigError } from '../errors.js';
import { parseBrokerUrl, type BrokerTarget } from './url.js';
import { AUTH_REFUSED, brokerError } from './broker-errors.js';

/**
 * ioredis 6 instances report `EventEmitter` as `constructor.name`; bee-queue recognises clients by
 * that name and silently treats anything else as an options object (then connects its own client to
 * 127.0.0.1:6379). Every client taskq creates is this subclass, so its name is `Redis`.
 */
export class Redis extends IORedis {}

/** The oldest Redis major version taskq runs on. */
const MIN_REDIS_MAJOR = 7;

/** What a connection is used for; it becomes the Redis CLIENT name (`taskq:<role>:<label>`). */
export type ClientRole = 'command' | 'blocking' | 'subscriber';

export interface RedisFactoryOptions {
  /** Broker URL (redis://, rediss://, unix://). */
  url: string;
  /** How long the first connection may take before start-up fails (ms). */
  connectTimeoutMs?: number;
  /** Extra ioredis options (tests use them; users rarely need them). */
  redisOptions?: RedisOptions;
}

/** What the factory tells about its connections (a worker logs it). */
export interface ConnectionChange {
  client: string;
  /** 'lost': a ready connection closed; 'back': ready again after `downMs`. */
  change: 'lost' | 'back';
  downMs?: number;
}

/** Events: 'connection' (ConnectionChange) when a ready connection is lost and when it is back. */
export class RedisFactory extends EventEmitter {
  readonly target: BrokerTarget;
  private readonly connectTimeoutMs: number;
  private readonly extra: RedisOptions;
  private readonly clients = new Set<Redis>();

  constructor(options: RedisFactoryOptions) {
    super();
    this.target = parseBrokerUrl(options.url);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.extra = options.redisOptions ?? {};
  }

  /** The URL with the password masked. */
  get display(): string {
    return this.target.display;
  }

  /**
   * Creates a client that is not yet connected; call {@link connect} on it. Clients retry
   * reconnecting forever with capped backoff and queue commands meanwhile, so a Redis restart is
   * survived by producers and workers alike.
   */
  create(role: ClientRole, label = 'main'): Redis {
    const client = new Redis({
      ...this.target.options,
      lazyConnect: true,
      // RESP2: bee-queue and our scripts expect RESP2 reply shapes, and RESP3 push frames would mix
      // with blocking replies on shared connections.
      protocol: 2,
      connectionName: `taskq:${role}:${label}`,
      // null = keep retrying a command across reconnects instead of failing it after 20 attempts:
      // a job a worker acknowledges during a Redis restart must not be dropped.
      maxRetriesPerRequest: null,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), 2000),
      // No auto-pipelining: it defers every command to the next tick (latency), and it would bundle a
      // blocking command with others. taskq batches explicitly where it matters (take / finish / bulk).
      enableAutoPipelining: false,
      enableReadyCheck: true,
      // A failover left us on a replica: reconnect (DNS or the sentinel/proxy then lead to the new
      // primary) and send the command again, instead of failing every write with READONLY.
      // Bounded: a URL that names a replica for good must fail (TASKQ_BROKER_READONLY), not loop.
      reconnectOnError: readonlyReconnects(),
      ...this.extra,
    } as RedisOptions & { replyMapping?: 'legacy' });
    this.clients.add(client);
    this.watch(client, `taskq:${role}:${label}`);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  private watch(client: Redis, name: string): void {
    let lostAt: number | undefined;
    let wasReady = false;
    client.on('ready', () => {
      if (lostAt !== undefined) this.emit('connection', { client: name, change: 'back', downMs: Date.now() - lostAt } satisfies ConnectionChange);
      lostAt = undefined;
      wasReady = true;
    });
    client.on('close', () => {
      if (!wasReady || lostAt !== undefined || client.status === 'end' || this.closing) return;
      lostAt = Date.now();
      this.emit('connection', { client: name, change: 'lost' } satisfies ConnectionChange);
    });
  }

  private closing = false;

  /** Creates and connects a client; fails with exit code 69 naming the URL if Redis is not there. */
  async connected(role: ClientRole, label?: string): Promise<Redis> {
    const client = this.create(role, label);
    await this.connect(client);
    return client;
  }

  /** Connects a client made by {@link create}; rejects with BrokerUnavailableError after the timeout. */
  async connect(client: Redis): Promise<void> {
    if (client.status === 'ready') return;
    let lastError: unknown;
    let fail: (err: Error) => void = () => {};
    let refusals = 0;
    const onError = (err: NodeJS.ErrnoException): void => {
      lastError = err;
      // Credentials refused: no retry will change that.
      if (AUTH_REFUSED.test(err.message)) fail(err);
      // Nothing listens there: give up after a few quick retries rather than the whole timeout.
      if (['ECONNREFUSED', 'ENOENT', 'ENOTFOUND', 'EACCES'].includes(err.code ?? '') && ++refusals >= 3) fail(err);
    };
    client.on('error', onError);
    try {
      await new Promise<void>((resolve, reject) => {
        fail = reject;
        const timer = setTimeout(() => reject(new Error('timed out')), this.connectTimeoutMs);
        client.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
        if (client.status === 'wait') client.connect().catch(() => {});
      });
    } catch {
      client.disconnect();
      if (lastError instanceof Error && AUTH_REFUSED.test(lastError.message)) throw brokerError(lastError, `connecting to the broker at ${this.display}`);
      let why = lastError instanceof Error ? lastError.message : `no answer within ${this.connectTimeoutMs} ms`;
      // A TLS hello to a plain Redis gets no answer it understands: say what likely happened.
      if (this.display.startsWith('rediss://')) why += '; rediss:// speaks TLS: if this Redis does not, use redis://';
      throw new BrokerUnavailableError(
        `cannot connect to the broker at ${this.display} (${why}). ` +
          'Start redis-server there, or point TASKQ_BROKER_URL / --broker at a running Redis.',
        { cause: lastError },
      );
    } finally {
      client.off('error', onError);
    }
    await this.checkVersion(client);
    // ioredis reports a failed SELECT only as an 'error' event and stays on db 0: check it here.
    const db = this.target.options.db ?? 0;
    if (db > 0) {
      try {
        await client.select(db);
      } catch (cause) {
        client.disconnect();
        throw new ConfigError(
          'TASKQ_BROKER_URL_INVALID',
          `the broker at ${this.display} has no database ${db} (${(cause as Error).message}): use a smaller number, or raise "databases" in redis.conf`,
          { cause },
        );
      }
    }
  }

  private versionChecked = false;

  /** taskq's scripts use Redis 7.0 commands (LMPOP, SET … GET, XINFO fields): an older server is refused by name. */
  private async checkVersion(client: Redis): Promise<void> {
    if (this.versionChecked) return;
    const version = /redis_version:(\d+)\.(\d+)/.exec(await client.info('server'));
    if (version && Number(version[1]) < MIN_REDIS_MAJOR) {
      client.disconnect();
      throw new BrokerUnavailableError(
        `the broker at ${this.display} runs Redis ${version[1]}.${version[2]}; taskq needs Redis ${MIN_REDIS_MAJOR}.0 or newer. Upgrade it (Debian 12's redis-server is 7.0).`,
      );
    }
    this.versionChecked = true;
  }

  /** Disconnects every client this factory made and still holds. */
  async closeAll(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.clients].map((c) => quit(c)));
  }
}

/** At most 3 reconnects for READONLY within 10 s, per client; then the error reaches the caller. */
function readonlyReconnects(): (err: Error) => 2 | false {
  let times: number[] = [];
  return (err) => {
    if (!err.message.startsWith('READONLY')) return false;
    const now = Date.now();
    times = times.filter((t) => now - t < 10_000);
    if (times.length >= 3) return false;
    times.push(now);
    return 2;
  };
}

/** QUIT if connected, else just drop the socket; never throws. */
export async function quit(client: Redis): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}
