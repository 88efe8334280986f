/**
 * A producer's own connection for its enqueue scripts, with RESP written here and read by
 * redis-parser. ioredis's generic per-command machinery (command objects, flag checks, its reply
 * decoder) costs a lone delay() awaited in a loop about 5 % of its round trip; this line carries
 * nothing but script calls, so it needs none of it. Everything else stays on ioredis, and so does
 * every call whenever this line is down (see script-sender.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import RedisParser from 'redis-parser';
import type { ScriptText } from './scripts.js';

/** Where and how to connect: the connection options of the app's ioredis client. */
export interface LineTarget {
  host?: string;
  port?: number;
  /** A unix socket path (instead of host and port). */
  path?: string;
  /** TLS options (rediss://). */
  tls?: tls.ConnectionOptions;
  username?: string;
  password?: string;
  db?: number;
  /** TCP keepalive's initial delay (ms), as ioredis sets it (its default: 30 s). */
  keepAlive?: number;
  /** IP family for host names (4, 6, or 0: either). */
  family?: number;
}

/** The line went down before a call had its answer; the call is handed to the caller's fallback. */
class LineLost extends Error {}

interface Waiting {
  resolve: (reply: unknown) => void;
  reject: (err: Error) => void;
}

/** One RESP bulk string. */
function bulk(word: string | number): string {
  const text = typeof word === 'string' ? word : String(word);
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}

/** One RESP command. */
function command(words: string[]): string {
  return `*${words.length}\r\n${words.map(bulk).join('')}`;
}

/**
 * Connects a socket to `target`; resolves once it can be written to (TLS: after the handshake).
 * `signal` bounds the connecting only (a signal given to net.connect would end the line later).
 */
function connect(target: LineTarget, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const where = target.path ? { path: target.path } : { host: target.host ?? '127.0.0.1', port: target.port ?? 6379, family: target.family ?? 0 };
    const socket = target.tls ? tls.connect({ ...target.tls, ...where }) : net.connect(where);
    const giveUp = (): void => {
      socket.destroy(new Error(`ETIMEDOUT: no connection to Redis within the connect timeout`));
    };
    signal.addEventListener('abort', giveUp, { once: true });
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      signal.removeEventListener('abort', giveUp);
      socket.removeListener('error', failed);
      if (typeof target.keepAlive === 'number') socket.setKeepAlive(true, target.keepAlive);
      resolve(socket);
    });
    const failed = (err: Error): void => {
      signal.removeEventListener('abort', giveUp);
      reject(err);
    };
    socket.once('error', failed);
  });
}

/**
 * An AbortSignal for "`timeoutMs` passed, or `stop` aborted", held by a plain timer: Node 20's
 * AbortSignal.any holds a timeout signal only weakly, so a garbage collection can lose it.
 */
function deadline(timeoutMs: number, stop: AbortSignal | undefined): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const stopped = (): void => controller.abort();
  stop?.addEventListener('abort', stopped, { once: true });
  if (stop?.aborted) controller.abort();
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => {
      clearTimeout(timer);
      stop?.removeEventListener('abort', stopped);
    },
  };
}

export class SendLine {
  private readonly waiting: Waiting[] = [];
  /** Scripts (by sha) this connection has been sent with EVAL, so EVALSHA finds them. */
  private readonly loaded = new Set<string>();
  /** The RESP text of EVALSHA, the sha and the keys, per script and keys array. */
  private readonly heads = new Map<string, WeakMap<string[], string>>();
  private down = false;
  private closing = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    const parser = new RedisParser({
      returnReply: (reply: unknown) => this.next()?.resolve(reply),
      returnError: (err: Error) => this.next()?.reject(err),
      returnFatalError: (err: Error) => socket.destroy(err),
    });
    socket.on('data', (data: Buffer) => parser.execute(data));
    socket.on('error', () => {}); // 'close' follows and says the rest
    socket.on('close', () => this.lost());
  }

  /**
   * Opens a line: connects, then sends AUTH, SELECT and CLIENT SETNAME `name` together. Rejects with
   * what Redis or the socket said (the caller then keeps using ioredis), after `timeoutMs`, or when
   * `stop` aborts.
   */
  static async open(target: LineTarget, name: string, timeoutMs: number, stop?: AbortSignal): Promise<SendLine> {
    const bound = deadline(timeoutMs, stop);
    const giveUp = (): void => {
      line?.socket.destroy();
    };
    let line: SendLine | undefined;
    try {
      line = new SendLine(await connect(target, bound.signal));
      bound.signal.addEventListener('abort', giveUp, { once: true });
      // As ioredis signs in: a user name means AUTH <user> <password>; a password alone, AUTH <password>.
      const hello: string[][] = [];
      if (target.username) hello.push(['AUTH', target.username, target.password ?? '']);
      else if (target.password) hello.push(['AUTH', target.password]);
      if (target.db) hello.push(['SELECT', String(target.db)]);
      const replies = hello.map((words) => (line as SendLine).send(command(words)));
      // CLIENT SETNAME is refused by some ACLs and managed Redis: ioredis ignores that, and so does this.
      const named = line.send(command(['CLIENT', 'SETNAME', name])).catch((err: unknown) => {
        if (err instanceof LineLost) throw err;
      });
      await Promise.all([...replies, named]);
      return line;
    } catch (err) {
      line?.socket.destroy();
      if (!(err instanceof LineLost)) throw err;
      throw new Error(bound.timedOut() ? `ETIMEDOUT: Redis did not answer the send line's handshake within ${timeoutMs} ms` : `ECONNRESET: the connection closed before Redis answered the send line's handshake`);
    } finally {
      bound.signal.removeEventListener('abort', giveUp);
      bound.done();
    }
  }

  /**
   * Whether calls can go out on this line: until it is lost, or closed and drained (a call made
   * while it drains goes on it, behind the calls there, so none overtakes another).
   */
  get up(): boolean {
    return !this.down;
  }

  /**
   * Runs `script` with `keys` and `args`. If the line goes down before the answer (or Redis says
   * READONLY: a failover, which ioredis knows how to follow), the call is run by `orElse` instead.
   * Redis having forgotten the script (SCRIPT FLUSH) is answered by sending it again. The promise
   * is settled by the answer itself, with no promise in between.
   */
  call(script: ScriptText, keys: string[], args: Array<string | number>, orElse: () => Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // The fallback runs at once (not a turn later), so the calls handed to it keep their order.
      const fallBack = (): void => {
        try {
          resolve(orElse());
        } catch (err) {
          reject(err as Error);
        }
      };
      const failed = (err: Error): void => {
        if (err.message.startsWith('NOSCRIPT')) {
          this.loaded.clear(); // SCRIPT FLUSH forgets every script, not just this one
          return this.write(this.text(script, keys, args), { resolve, reject: failed });
        }
        if (err.message.startsWith('READONLY')) {
          // This call and every one behind it go to the fallback now, in their order, before any
          // call made after this one can.
          fallBack();
          this.lost();
          this.socket.destroy();
          return;
        }
        if (!(err instanceof LineLost)) return reject(err);
        fallBack();
      };
      this.write(this.text(script, keys, args), { resolve, reject: failed });
    });
  }

  /** Ends the line once the calls on it have their answers. */
  close(): Promise<void> {
    this.closing = true;
    if (this.down) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      if (this.waiting.length === 0) this.end();
    });
  }

  private end(): void {
    this.down = true;
    this.socket.end();
  }

  private send(text: string): Promise<unknown> {
    return new Promise((resolve, reject) => this.write(text, { resolve, reject }));
  }

  private write(text: string, to: Waiting): void {
    if (this.down) return to.reject(new LineLost());
    this.waiting.push(to);
    this.socket.write(text);
  }

  /** The call an answer belongs to (Redis answers in order). */
  private next(): Waiting | undefined {
    const w = this.waiting.shift();
    if (this.closing && this.waiting.length === 0) this.end();
    return w;
  }

  /** EVAL the first time a script goes out on this connection, EVALSHA after. */
  private text(script: ScriptText, keys: string[], args: Array<string | number>): string {
    let head: string | undefined;
    if (!this.loaded.has(script.sha)) {
      this.loaded.add(script.sha);
      head = `${bulk('EVAL')}${bulk(script.lua)}${bulk(String(keys.length))}${keys.map(bulk).join('')}`;
    } else {
      let byKeys = this.heads.get(script.sha);
      if (!byKeys) this.heads.set(script.sha, (byKeys = new WeakMap()));
      head = byKeys.get(keys);
      if (head === undefined) byKeys.set(keys, (head = `${bulk('EVALSHA')}${bulk(script.sha)}${bulk(String(keys.length))}${keys.map(bulk).join('')}`));
    }
    let text = `*${3 + keys.length + args.length}\r\n${head}`;
    for (const arg of args) text += bulk(arg);
    return text;
  }

  /** The line is down: every call on it goes to its fallback, in order (again: nothing is left). */
  private lost(): void {
    this.down = true;
    const waiting = this.waiting.splice(0);
    for (const w of waiting) w.reject(new LineLost());
  }
}
