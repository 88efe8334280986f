/**
 * Sends a producer's scripts (enqueue, canvas): on its own line (send-line.ts) when that is up, on
 * the app's ioredis client otherwise. The line opens in the background on the second call (a
 * producer that sends once never opens it), so no send waits for it. After it is lost, the calls it
 * carried go to the client in the order they were made, and it reopens a second later at the
 * soonest (a failed open backs off up to 30 s). The line takes a call only while no command at all
 * waits on the client (a send, a revoke, a queue registration), so a send is never stored before a
 * command made earlier on the app's connection. (After a SCRIPT FLUSH, calls in flight at that
 * moment can be stored out of order: each is sent again as it is refused, as ioredis's own script
 * calls are.)
 */
import type { RedisOptions } from 'ioredis';
import type { Redis } from './redis-factory.js';
import { runScript, runScriptNow, scriptText, type ScriptName } from './scripts.js';
import { SendLine, type LineTarget } from './send-line.js';

/** The line's CLIENT name (`taskq:<role>:<label>`, as redis-factory.ts names connections). */
export const SEND_LINE_NAME = 'taskq:command:sends';
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * The line's target: the client's own connection options, or undefined where the line would not
 * reach the same Redis the same way (sentinels, a key prefix ioredis adds): then the client is used.
 */
export function lineTarget(options: RedisOptions): LineTarget | undefined {
  if (options.sentinels?.length || options.keyPrefix) return undefined;
  const { host, port, path, tls, username, password, db, keepAlive, family } = options;
  return { host, port, path, tls, username, password, db, keepAlive, family };
}

export class ScriptSender {
  private line: SendLine | undefined;
  private opening = false;
  private closed = false;
  private retryAt = 0;
  private failures = 0;
  /** Calls sent on the client and not answered yet. */
  private onClient = 0;
  /** Calls made so far, up to 2: a producer that sends once (`taskq call`) never opens the line. */
  private calls = 0;
  private readonly stop = new AbortController();

  /** The line's state (diagnostics and tests). */
  get lineState(): 'none' | 'opening' | 'open' {
    return this.line?.up ? 'open' : this.opening ? 'opening' : 'none';
  }

  /** Runs script `name` on the line, or on `client`; resolves with the script's reply. */
  run(client: Redis, name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    const line = this.line;
    if (line?.up && this.onClient === 0 && client.commandQueue.length === 0) return line.call(scriptText(name), keys, args, () => this.viaClient(client, name, keys, args));
    this.open(client);
    return this.viaClient(client, name, keys, args);
  }

  /** Ends the line once its calls have their answers (the client is closed by its owner). */
  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    await this.line?.close();
  }

  private viaClient(client: Redis, name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    this.onClient++;
    const call = name === 'taskqEnqueueOne' ? runScriptNow(client, name, keys, args) : runScript(client, name, keys, args);
    const done = (): void => {
      this.onClient--;
    };
    call.then(done, done);
    return call;
  }

  private open(client: Redis): void {
    if (this.line && !this.line.up) {
      this.line = undefined;
      this.retryAt = Date.now() + RETRY_MIN_MS;
    }
    if (this.calls < 2) this.calls++;
    if (this.calls < 2 || this.line || this.opening || this.closed || Date.now() < this.retryAt || client.status !== 'ready') return;
    const target = lineTarget(client.options);
    if (!target) {
      this.retryAt = Infinity;
      return;
    }
    this.opening = true;
    SendLine.open(target, SEND_LINE_NAME, client.options.connectTimeout ?? 10_000, this.stop.signal).then(
      (line) => {
        this.opening = false;
        this.failures = 0;
        if (this.closed) void line.close();
        else this.line = line;
      },
      () => {
        this.opening = false;
        this.retryAt = Date.now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.failures++);
      },
    );
  }
}
