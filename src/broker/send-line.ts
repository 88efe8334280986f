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
    const port = target.port ?? 6379;
    const host = target.host ?? '127.0.0.1';
    const socket = target.path ? net.connect({ path: target.path }) : target.tls ? tls.connect({ ...target.tls, host, port }) : net.connect({ host, port });
    const giveUp = (): void => {
      socket.destroy(new Error(`ETIMEDOUT: no connection to Redis within the connect timeout`));
    };
    signal.addEventListener('abort', giveUp, { once: true });
    socket.once(target.tls && !target.path ? 'secureConnect' : 'connect', () => {
      signal.removeEventListener('abort', giveUp);
      socket.removeListener('error', failed);
      resolve(socket);
    });
    const failed = (err: Error): void => {
      signal.removeEventListener('abort', giveUp);
      reject(err);
    };
    socket.once('error', failed);
  });
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
   * Opens a line: connects, then AUTH, SELECT and CLIENT SETNAME `name` in one write. Rejects with
   * what Redis or the socket said (the caller then keeps using ioredis), after `timeoutMs`, or when
   * `stop` aborts.
   */
  static async open(target: LineTarget, name: string, timeoutMs: number, stop?: AbortSignal): Promise<SendLine> {
    const signal = stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs);
    const line = new SendLine(await connect(target, signal));
    const giveUp = (): void => {
      line.socket.destroy();
    };
    signal.addEventListener('abort', giveUp, { once: true });
    const hello: string[][] = [];
    if (target.password) hello.push(target.username ? ['AUTH', target.username, target.password] : ['AUTH', target.password]);
    if (target.db) hello.push(['SELECT', String(target.db)]);
    hello.push(['CLIENT', 'SETNAME', name]);
    try {
      await Promise.all(hello.map((words) => line.send(command(words))));
    } catch (err) {
      line.socket.destroy();
      if (!(err instanceof LineLost)) throw err;
      throw new Error(signal.aborted ? `ETIMEDOUT: Redis did not answer the send line's handshake within ${timeoutMs} ms` : `ECONNRESET: the connection closed before Redis answered the send line's handshake`);
    } finally {
      signal.removeEventListener('abort', giveUp);
    }
    return line;
  }

  /** Whether calls can go out on this line. */
  get up(): boolean {
    return !this.down && !this.closing;
  }

  /**
   * Runs `script` with `keys` and `args`. If the line goes down before the answer (or Redis says
   * READONLY: a failover, which ioredis knows how to follow), the call is run by `orElse` instead.
   * Redis having forgotten the script (SCRIPT FLUSH) is answered by sending it again. The promise
   * is settled by the answer itself, with no promise in between.
   */
  call(script: ScriptText, keys: string[], args: Array<string | number>, orElse: () => Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const failed = (err: Error): void => {
        if (err.message.startsWith('NOSCRIPT')) {
          this.loaded.clear(); // SCRIPT FLUSH forgets every script, not just this one
          return this.write(this.text(script, keys, args), { resolve, reject: failed });
        }
        if (err.message.startsWith('READONLY')) {
          // This call and every one behind it go to the fallback now, in their order, before any
          // call made after this one can.
          resolve(orElse());
          this.lost();
          this.socket.destroy();
          return;
        }
        if (!(err instanceof LineLost)) return reject(err);
        resolve(orElse());
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
      if (this.waiting.length === 0) this.socket.end();
    });
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
    if (this.closing && this.waiting.length === 0) this.socket.end();
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
