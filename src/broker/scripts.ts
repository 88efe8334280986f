/**
 * taskq's Lua scripts (src/broker/lua/*.lua, each opens with its KEYS/ARGV header), registered on an
 * ioredis client with `defineCommand`: ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT, so a
 * restarted Redis (empty script cache) needs no special handling.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, type Redis as IORedis } from 'ioredis';

// The same relative path works from src/broker (tests) and dist/broker (built code).
const luaDir = new URL('../../src/broker/lua/', import.meta.url);

const SCRIPTS = {
  taskqEnqueue: { file: 'enqueue.lua', keys: 6 },
  taskqEnqueueOne: { file: 'enqueue-one.lua', keys: 2, bare: true },
  taskqTake: { file: 'take.lua', keys: 8, libs: ['plan'] },
  taskqFinish: { file: 'finish.lua', keys: 8, libs: ['plan'] },
  taskqApply: { file: 'apply.lua', keys: 1, libs: ['plan'] },
  taskqStalls: { file: 'stalls.lua', keys: 10, libs: ['plan'] },
  taskqPurge: { file: 'purge.lua', keys: 3 },
  taskqRevoke: { file: 'revoke.lua', keys: 4, libs: ['plan'] },
  taskqDeadRetry: { file: 'dead-retry.lua', keys: 5 },
  taskqDeadPurge: { file: 'dead-purge.lua', keys: 2 },
  taskqRequeue: { file: 'requeue.lua', keys: 3 },
  taskqProgress: { file: 'progress.lua', keys: 2 },
  taskqRaise: { file: 'raise.lua', keys: 3 },
  taskqRateReset: { file: 'rate-reset.lua', keys: 3 },
  taskqBeatFire: { file: 'beat-fire.lua', keys: 7 },
  taskqBeatLease: { file: 'beat-lease.lua', keys: 1 },
} satisfies Record<string, { file: string; keys: number; libs?: readonly string[]; bare?: boolean }>;

export type ScriptName = keyof typeof SCRIPTS;

/** How many KEYS a script takes (its ARGV follow them in a call). */
export function scriptKeyCount(name: ScriptName): number {
  return SCRIPTS[name].keys;
}

const sources = new Map<ScriptName, string>();
/**
 * Every script starts with lib/common.lua (helpers shared by the scripts: entries, states, the clock),
 * then the libs it names; a `bare` one (a few commands, on the hottest path) with none.
 */
function source(name: ScriptName): string {
  let lua = sources.get(name);
  if (!lua) {
    const spec: { file: string; libs?: readonly string[]; bare?: boolean } = SCRIPTS[name];
    const libs = [...(spec.bare ? [] : ['common']), ...(spec.libs ?? [])].map((lib) => readFileSync(new URL(`lib/${lib}.lua`, luaDir), 'utf8'));
    lua = `${libs.join('\n')}\n${readFileSync(new URL(spec.file, luaDir), 'utf8')}`;
    sources.set(name, lua);
  }
  return lua;
}

/** A script's text and its SHA1 (what EVALSHA names it by). */
export interface ScriptText {
  lua: string;
  sha: string;
}

const texts = new Map<ScriptName, ScriptText>();

/** Script `name`'s text and SHA1, for a connection that sends scripts itself (send-line.ts). */
export function scriptText(name: ScriptName): ScriptText {
  let text = texts.get(name);
  if (!text) {
    const lua = source(name);
    texts.set(name, (text = { lua, sha: createHash('sha1').update(lua).digest('hex') }));
  }
  return text;
}

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;
const defined = new WeakSet<object>();

/** Registers every script on the client (idempotent). */
export function defineScripts(client: IORedis): void {
  if (defined.has(client)) return;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    client.defineCommand(name, { numberOfKeys: SCRIPTS[name].keys, lua: source(name) });
  }
  defined.add(client);
}

/** Runs script `name` on a client or pipeline (the client must have had {@link defineScripts}). */
export function runScript(target: object, name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
  if (keys.length !== SCRIPTS[name].keys) {
    throw new Error(`internal: script ${name} takes ${SCRIPTS[name].keys} keys, got ${keys.length}`);
  }
  const fn = (target as unknown as Record<string, ScriptFn>)[name];
  if (typeof fn !== 'function') throw new Error(`internal: script ${name} is not defined on this client`);
  return fn.call(target, ...keys, ...args);
}

interface ScriptCommandClass {
  new (argv: Array<string | number>): Command & { writtenTo?: object };
  /** Redis said it does not know the script (SCRIPT FLUSH): EVAL it again on that socket. */
  forget(socket: object | undefined): void;
}
const commands = new Map<ScriptName, ScriptCommandClass>();

/**
 * A command class for script `name`: EVALSHA, or EVAL the first time it is written to a socket —
 * decided when it is written, as ioredis's own script commands decide, so calls keep the order they
 * were made in on a new connection, whichever way each of them is sent.
 */
function commandFor(name: ScriptName): ScriptCommandClass {
  let made = commands.get(name);
  if (!made) {
    const { lua, sha } = scriptText(name);
    const loaded = new WeakSet<object>();
    made = class ScriptCommand extends Command {
      writtenTo: object | undefined;

      /** `argv`: the key count, the keys, the arguments. */
      constructor(argv: Array<string | number>) {
        super('evalsha', [sha, ...argv]);
      }

      static forget(socket: object | undefined): void {
        if (socket) loaded.delete(socket);
      }

      override toWritable(socket: object): string | Buffer {
        this.writtenTo = socket;
        if (!loaded.has(socket)) {
          loaded.add(socket);
          this.name = 'eval';
          this.args[0] = lua;
        }
        return super.toWritable(socket);
      }
    };
    commands.set(name, made);
  }
  return made;
}

/**
 * Runs script `name` on a client as {@link runScript} does, with one command object and no
 * wrapper around it: for the one call a lone send makes, where every microsecond is a round trip's.
 * Redis having forgotten the script (SCRIPT FLUSH) is answered by sending it again.
 */
export function runScriptNow(client: IORedis, name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
  const Made = commandFor(name);
  const argv = [keys.length, ...keys, ...args];
  const command = new Made(argv);
  client.sendCommand(command);
  return command.promise.catch((err: Error) => {
    if (!err.message.startsWith('NOSCRIPT')) throw err;
    Made.forget(command.writtenTo);
    const again = new Made(argv);
    client.sendCommand(again);
    return again.promise;
  });
}
