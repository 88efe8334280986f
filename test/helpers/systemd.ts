/**
 * A real systemd, booted as PID 1 in private PID, mount and network namespaces (see
 * ../shared/docs/systemd-in-a-namespace.md): /tmp, /run, /var/tmp, /var/log and /var/cache are private tmpfs
 * mounts and /etc an overlay whose writes go to /run, so its clean-ups and the units under test
 * never touch the machine's own files; the checkout is bind-mounted at /opt/taskq, where the unit
 * expects it (a checkout under /tmp would be hidden, by the tmpfs and by the unit's PrivateTmp); it boots a
 * minimal target (no enabled service of the machine starts). Killed, namespace and all, when the test
 * ends. Needs root.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { onTestFinished } from 'vitest';

export interface NamespaceSystemd {
  /** systemd's pid on this machine. */
  pid: number;
  /** Runs a command inside the namespaces (stdin from `input`). */
  run(argv: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  systemctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Writes a file inside (its tmpfs mounts are not visible from here). */
  writeFile(path: string, text: string): Promise<void>;
}

/** $1: the checkout, shown inside at /opt/taskq (where the unit expects it, whatever /tmp hides). */
const BOOT = `
set -e
mount -t proc proc /proc
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/taskq-checkout
mount --bind "$1" /run/taskq-checkout
for d in /tmp /var/tmp /var/log /var/cache /opt; do mount -t tmpfs -o mode=755 tmpfs "$d"; done
chmod 1777 /tmp /var/tmp
mkdir -p /opt/taskq
mount --bind /run/taskq-checkout /opt/taskq
umount /run/taskq-checkout
# /etc stays the machine's, read through an overlay: what a test writes there lands in /run.
mkdir -p /run/etc-upper /run/etc-work
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/etc-upper,workdir=/run/etc-work /etc
mkdir -p /run/systemd/system
printf '[Unit]\\nDescription=taskq test target\\nRequires=basic.target\\nAfter=basic.target\\nAllowIsolate=yes\\n' > /run/systemd/system/taskq-test.target
exec /lib/systemd/systemd --system --unit=taskq-test.target >/dev/null 2>&1
`;

function exec(argv: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // A command that exits without reading its input closes the pipe first: not an error.
  child.stdin.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  child.stdin.end(input ?? '');
  return once(child, 'exit').then(([code]) => ({ code: (code as number | null) ?? -1, stdout, stderr }));
}

/** Boots it; `checkout` (this repository) appears inside at /opt/taskq. */
export async function bootSystemd(checkout: string): Promise<NamespaceSystemd> {
  const unshare = spawn('unshare', ['--pid', '--fork', '--mount', '--net', '--propagation', 'private', 'bash', '-c', BOOT, 'boot', checkout], { detached: true, stdio: 'ignore' });
  const exited = once(unshare, 'exit');
  onTestFinished(async () => {
    if (pid) process.kill(pid, 'SIGKILL');
    unshare.kill('SIGKILL');
    await exited;
  });
  // systemd is unshare's child (the namespace's pid 1).
  let pid = 0;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const children = (await exec(['pgrep', '-P', String(unshare.pid)])).stdout.trim();
    pid = Number(children.split('\n')[0]) || 0;
    if (pid) {
      const state = (await exec(['nsenter', '-t', String(pid), '-p', '-m', '-n', 'systemctl', 'is-system-running'])).stdout.trim();
      if (state === 'running' || state === 'degraded') break;
    }
    if (Date.now() > deadline) throw new Error(`systemd in a namespace did not come up within 30 s (pid ${pid || 'none'})`);
    await sleep(100);
  }
  const inside = (argv: string[]): string[] => ['nsenter', '-t', String(pid), '-p', '-m', '-n', ...argv];
  return {
    pid,
    run: (argv, input) => exec(inside(argv), input),
    systemctl: (...args) => exec(inside(['systemctl', ...args])),
    writeFile: async (path, text) => {
      const r = await exec(inside(['sh', '-c', `mkdir -p "$(dirname "$1")" && cat > "$1"`, 'sh', path]), text);
      if (r.code !== 0) throw new Error(`writing ${path} inside the namespace failed: ${r.stderr}`);
    },
  };
}
