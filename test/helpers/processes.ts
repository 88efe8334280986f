/** Worker processes for tests: real `taskq worker` children, started and signalled for real. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const taskqBin = `${root}bin/taskq`;
export const fixture = (name: string): string => `${root}test/fixtures/apps/${name}`;

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** stderr + stdout so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  signal(sig: NodeJS.Signals): void;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  /** Wait for the banner's " ready" line (default true). */
  waitReady?: boolean;
  readyTimeoutMs?: number;
}

/** Runs `taskq <args>` as a child process; killed (SIGKILL) when the test ends if still alive. */
export async function spawnTaskq(args: string[], options: SpawnOptions): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [taskqBin, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const proc: WorkerProcess = { child, pid: child.pid!, output: () => out, exited, signal: (s) => child.kill(s) };
  if (options.waitReady ?? true) {
    const timeoutMs = options.readyTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`taskq ${args.join(' ')} not ready after ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
      const check = (): void => {
        if (/ ready\n/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stderr!.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`taskq ${args.join(' ')} exited (${code}) before ready; output:\n${out}`));
      });
      check();
    });
  }
  return proc;
}

/** Runs `taskq <args>` to completion. */
export async function runTaskq(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [taskqBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: (code ?? signal) as number | string, stdout, stderr };
}

/** Whether process `pid` runs (a zombie, not reaped yet, does not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}
