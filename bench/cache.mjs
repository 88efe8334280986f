/**
 * Download and cache benchmarks (issue: download/cache):
 *  - caching a 200 MB file from a loopback origin: download.fetch on a real download node (aria2c,
 *    size check, sha256, move, index) against `curl -o` from the same origin (goal ≤ 1.1×);
 *  - serving it from the cache: MB/s that curl reads from the cache server, from a plain node:http
 *    file server and from nginx when installed (goal ≥ 1 GB/s);
 *  - overhead from an observation reaching analyze to the download's first request at the origin,
 *    p50 / p99 over 40 resources (analyze and download nodes).
 * Every loop is bounded in count and time.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { median, percentile } from './util.mjs';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIZE = 200 * 1024 * 1024;

function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Seconds curl takes to fetch `url` into `out` (or /dev/null), and its bytes/s. Async: the origin runs in this process. */
async function curl(url, out = '/dev/null') {
  const t = performance.now();
  const { stdout } = await execFileAsync('curl', ['-s', '-f', '-o', out, '-w', '%{speed_download}', url], { encoding: 'utf8', timeout: 120_000 });
  return { s: (performance.now() - t) / 1000, bytesPerSec: Number(stdout) };
}

const workers = new Set();

/** A worker node process; stopped by stopWorkers() whatever happens (no bench leaves one behind). */
async function worker(args, env) {
  const child = spawn(process.execPath, [`${ROOT}bin/taskq`, 'worker', '-A', `${ROOT}dist/app.js`, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  child.stderr.on('data', (c) => (out += c.toString()));
  const deadline = Date.now() + 20_000;
  while (!/ ready\n/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`worker ${args.join(' ')} did not start:\n${out}`);
    await sleep(20);
  }
  workers.add(child);
  return { stop: () => stopWorker(child) };
}

async function stopWorker(child) {
  workers.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function plainFileServer(file) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}/f`, close: () => server.close() };
}

async function nginx(dir, file) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = `${dir}/nginx.conf`;
  writeFileSync(conf, `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err; events {} http { access_log off; sendfile on; server { listen 127.0.0.1:${port}; root ${dir}/www; } }\n`);
  mkdirSync(`${dir}/www`, { recursive: true });
  execFileSync('cp', [file, `${dir}/www/f.mp4`]);
  const child = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
  await sleep(300);
  return { url: `http://127.0.0.1:${port}/f.mp4`, close: () => child.kill('SIGTERM') };
}

export async function measureCache(redis, { log, runs = 3 }) {
  const { startOrigin } = await import('../dist/demo/origin.js');
  const { createApp } = await import('../dist/core/app.js');
  const { CacheIndex } = await import('../dist/download/cache-index.js');
  const { listenCacheServer } = await import('../dist/download/cache-server.js');
  const { resourceId } = await import('../dist/tasks/analyze/resource.js');
  const dir = mkdtempSync(`${tmpdir()}/taskq-bench-cache-`);
  const body = randomBytes(SIZE);
  const files = { '/big.mp4': { body, type: 'video/mp4' } };
  for (let i = 0; i < 40; i++) files[`/small/${i}.mp4`] = { body: body.subarray(0, 200_000), type: 'video/mp4' };
  const origin = await startOrigin({ files });
  const prefix = `bcache${Date.now()}`;
  const broker = `redis://127.0.0.1:${redis.port}`;
  const env = { TASKQ_BROKER_URL: broker, TASKQ_KEY_PREFIX: prefix, TASKQ_CACHE_DIR: `${dir}/cache`, TASKQ_CACHE_MAX_BYTES: '4G' };
  const app = createApp({ broker, keyPrefix: prefix });
  const out = { sizeBytes: SIZE };
  try {
    // 1. Caching 200 MB: taskq + aria2 vs curl, turns taken.
    const download = await worker(['-Q', 'q_download', '-c', '2', '-n', 'bench-dl@%h'], env);
    const taskqS = [];
    const curlS = [];
    for (let run = 0; run < runs; run++) {
      curlS.push((await curl(`${origin.url}/big.mp4`, `${dir}/curl.bin`)).s);
      rmSync(`${dir}/curl.bin`, { force: true });
      const url = `${origin.url}/big.mp4?run=${run}`;
      const t = performance.now();
      const r = await (await app.send('download.fetch', [{ id: resourceId(url), url, kind: 'progressive', size: SIZE, contentType: 'video/mp4', seenAt: Date.now() }], {}, { queue: 'q_download' })).get({ timeout: 120_000 });
      taskqS.push((performance.now() - t) / 1000);
      out.file = r.file;
      log(`cache 200 MB run ${run + 1}/${runs}: taskq+aria2 ${taskqS.at(-1).toFixed(2)} s, curl ${curlS.at(-1).toFixed(2)} s`);
    }
    out.caching = { taskqS: median(taskqS), curlS: median(curlS), ratio: median(taskqS) / median(curlS), runs: { taskqS, curlS } };

    // 2. Serving it: the cache server vs node:http vs nginx, MB/s read by curl.
    const index = new CacheIndex(await app.client(), prefix);
    const server = await listenCacheServer({ index, storeDir: `${dir}/cache/store`, host: '127.0.0.1', port: 0 });
    const id = out.file.split('/').pop().replace(/\.mp4$/, '');
    const plain = await plainFileServer(out.file);
    const ng = has('nginx') ? await nginx(dir, out.file) : undefined;
    const servers = { taskq: `${server.url}/c/${id}`, nodeHttp: plain.url, ...(ng ? { nginx: ng.url } : {}) };
    const speeds = Object.fromEntries(Object.keys(servers).map((k) => [k, []]));
    for (let run = 0; run < runs + 2; run++) for (const [k, url] of Object.entries(servers)) speeds[k].push((await curl(url)).bytesPerSec / 1e6);
    out.serving = Object.fromEntries(Object.entries(speeds).map(([k, v]) => [k, { mbPerSec: median(v), runs: v }]));
    log(`serving: ${Object.entries(out.serving).map(([k, v]) => `${k} ${Math.round(v.mbPerSec)} MB/s`).join(', ')}`);
    await server.close();
    plain.close();
    ng?.close();

    // 3. Observation → download start: analyze and download nodes, 40 resources one at a time.
    const analyze = await worker(['-Q', 'q_analyze', '-c', '2', '-n', 'bench-an@%h'], env);
    const overheadMs = [];
    for (let i = 0; i < 40; i++) {
      const url = `${origin.url}/small/${i}.mp4`;
      const seen = origin.requests.length;
      const t = performance.now();
      await app.send('analyze.observations', [[{ kind: 'http', ts: Date.now(), src: '127.0.0.1:40000', dst: origin.url.slice(7), host: '127.0.0.1', url, method: 'GET', response: { status: 200, contentType: 'video/mp4', contentLength: 200_000 } }]], {}, { queue: 'q_analyze' });
      const deadline = Date.now() + 10_000;
      let hit;
      while (!(hit = origin.requests.slice(seen).find((r) => r.path === `/small/${i}.mp4`))) {
        if (Date.now() > deadline) throw new Error(`no download of ${url} within 10 s`);
        await sleep(1);
      }
      overheadMs.push(hit.at - t);
    }
    out.overhead = { p50Ms: percentile(overheadMs, 50), p99Ms: percentile(overheadMs, 99), n: overheadMs.length };
    log(`observation → download start: p50 ${out.overhead.p50Ms.toFixed(1)} ms, p99 ${out.overhead.p99Ms.toFixed(1)} ms`);
    await analyze.stop();
    await download.stop();
  } finally {
    await Promise.all([...workers].map(stopWorker));
    await app.close();
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export function cacheText(c) {
  const s = c.serving;
  return [
    'download and cache (200 MB file on loopback):',
    `  caching: taskq+aria2 ${c.caching.taskqS.toFixed(2)} s vs curl ${c.caching.curlS.toFixed(2)} s = ${c.caching.ratio.toFixed(2)}× (goal ≤ 1.1×)`,
    `  serving: cache server ${Math.round(s.taskq.mbPerSec)} MB/s, node:http ${Math.round(s.nodeHttp.mbPerSec)} MB/s (${(s.taskq.mbPerSec / s.nodeHttp.mbPerSec).toFixed(2)}×)${s.nginx ? `, nginx ${Math.round(s.nginx.mbPerSec)} MB/s (${(s.taskq.mbPerSec / s.nginx.mbPerSec).toFixed(2)}×)` : ', nginx not installed'} (goal ≥ 1000 MB/s)`,
    `  observation → download start: p50 ${c.overhead.p50Ms.toFixed(1)} ms, p99 ${c.overhead.p99Ms.toFixed(1)} ms (${c.overhead.n} resources)`,
    '',
  ].join('\n');
}
