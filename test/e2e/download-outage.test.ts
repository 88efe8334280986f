/**
 * A configured aria2 (TASKQ_ARIA2_URL) that is down, or answers to another secret: the job says why
 * and is retried, not lost; once the right aria2 listens, the retry downloads the file.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { startOrigin } from '../../src/demo/origin.js';
import { resourceId } from '../../src/tasks/analyze/resource.js';
import { uniquePrefix } from '../helpers/apps.js';
import { root, spawnTaskq } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

function aria2c(port: number, secret: string, dir: string) {
  const child = spawn('aria2c', ['--enable-rpc', '--rpc-listen-all=false', `--rpc-listen-port=${port}`, `--rpc-secret=${secret}`, `--dir=${dir}`, '--quiet=true'], { stdio: 'ignore' });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  return child;
}

describe('a configured aria2', () => {
  it('down, then with the wrong secret: the job says why and is retried; with the right one it completes', async () => {
    const origin = await startOrigin({ files: { '/v.mp4': { body: Buffer.alloc(100_000, 7), type: 'video/mp4' } } });
    onTestFinished(() => origin.close());
    const cache = `${mkdtempSync(`${tmpdir()}/taskq-outage-`)}/cache`;
    const port = await freePort();
    const prefix = uniquePrefix();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix, TASKQ_CACHE_DIR: cache, TASKQ_ARIA2_URL: `http://127.0.0.1:${port}/jsonrpc`, TASKQ_ARIA2_SECRET: 'right' };
    await spawnTaskq(['worker', '-A', `${root}dist/app.js`, '-Q', 'q_download', '-n', 'dl@box'], { env });
    const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
    onTestFinished(() => app.close());
    const url = `${origin.url}/v.mp4`;
    const job = await app.send('download.fetch', [{ id: resourceId(url), url, kind: 'progressive', seenAt: Date.now() }], {}, { queue: 'q_download' });

    const retrying = async (): Promise<string> => {
      const info = await job.info();
      return info?.state === 'RETRY' ? String((info.error as { message?: string } | undefined)?.message ?? '') : '';
    };
    expect(await waitFor('a retry because aria2 is down', retrying, (m) => m !== '', { timeoutMs: 20_000 })).toMatch(/aria2 .*(not listening|did not answer)/);

    const wrong = aria2c(port, 'wrong', `${cache}/incoming`);
    expect(await waitFor('a retry because of the secret', retrying, (m) => /secret/.test(m), { timeoutMs: 30_000 })).toContain('aria2 refused the RPC secret (Unauthorized)');
    wrong.kill('SIGTERM');
    await once(wrong, 'exit');

    aria2c(port, 'right', `${cache}/incoming`);
    expect(await job.get({ timeout: 60_000 })).toMatchObject({ size: 100_000 });
  });
});
