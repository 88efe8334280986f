// Typings for npm `aria2` 4.1.2 (it ships none): what src/download/aria2-client.ts uses.
declare module 'aria2' {
  import { EventEmitter } from 'node:events';
  interface Aria2Options {
    host?: string;
    port?: number;
    secure?: boolean;
    secret?: string;
    path?: string;
    WebSocket?: unknown;
  }
  class Aria2 extends EventEmitter {
    constructor(options?: Aria2Options);
    socket: { readyState: number } | undefined;
    deferreds: Record<string, unknown>;
    open(): Promise<void>;
    close(): Promise<void>;
    call(method: string, ...params: unknown[]): Promise<unknown>;
    multicall(calls: unknown[][]): Promise<unknown[]>;
  }
  export = Aria2;
}
