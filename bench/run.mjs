/**
 * `npm run bench`: taskq vs raw bee-queue vs BullMQ on one private redis-server.
 *   node bench/run.mjs [--n 20000] [--runs 3] [--quick] [--rate 500] [--latency-count 2500]
 *                      [--systems taskq,bee,bullmq] [--skip-pools] [--pools-only] [--skip-multi] [--multi-only]
 *                      [--skip-beat] [--beat-only] [--beat-seconds 30] [--skip-capture] [--capture-only]
 *                      [--skip-cache] [--cache-only] [--skip-ui] [--ui-only] [--skip-chord] [--chord-only]
 * Progress goes to stderr; the table and target checks to stdout; every figure to
 * bench/results/latest.json.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { startRedis } from './redis-server.mjs';
import { loadSystem, SYSTEMS } from './systems/index.mjs';
import { ENQUEUE_MODES, enqueue, latency, processing } from './measure.mjs';
import { checkTargets, table, targetsText, writeJson } from './report.mjs';
import { median } from './util.mjs';
import { measurePools, poolsTable } from './pools.mjs';
import { extrasText, measureExtras } from './extras.mjs';
import { measureMulti, multiText } from './multi.mjs';
import { beatText, measureBeat } from './beat.mjs';
import { captureText, measureCapture } from './capture.mjs';
import { cacheText, measureCache } from './cache.mjs';
import { measureUi, uiText } from './ui.mjs';
import { chordText, measureChord } from './chord.mjs';

const CONCURRENCIES = [1, 50];
const RESULTS_FILE = new URL('./results/latest.json', import.meta.url);

function options() {
  const { values } = parseArgs({
    options: {
      n: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rate: { type: 'string', default: '500' },
      'latency-count': { type: 'string' },
      systems: { type: 'string', default: Object.keys(SYSTEMS).join(',') },
      'skip-pools': { type: 'boolean', default: false },
      'pools-only': { type: 'boolean', default: false },
      'skip-multi': { type: 'boolean', default: false },
      'multi-only': { type: 'boolean', default: false },
      'skip-beat': { type: 'boolean', default: false },
      'beat-only': { type: 'boolean', default: false },
      'beat-seconds': { type: 'string' },
      'skip-capture': { type: 'boolean', default: false },
      'capture-only': { type: 'boolean', default: false },
      'skip-cache': { type: 'boolean', default: false },
      'cache-only': { type: 'boolean', default: false },
      'skip-ui': { type: 'boolean', default: false },
      'ui-only': { type: 'boolean', default: false },
      'skip-chord': { type: 'boolean', default: false },
      'chord-only': { type: 'boolean', default: false },
    },
  });
  const int = (name, raw, fallback) => {
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  return {
    n: int('n', values.n, values.quick ? 2000 : 20_000),
    runs: int('runs', values.runs, values.quick ? 1 : 3),
    rate: int('rate', values.rate, 500),
    latencyCount: int('latency-count', values['latency-count'], values.quick ? 1000 : 2500),
    systems: values.systems.split(',').map((s) => s.trim()).filter(Boolean),
    ...sections(values),
    beatSeconds: int('beat-seconds', values['beat-seconds'], values.quick ? 10 : 30),
  };
}

/** Which sections run: every one but those skipped, or only those named with --<section>-only. */
function sections(values) {
  const names = ['pools', 'multi', 'beat', 'capture', 'cache', 'ui', 'chord'];
  const only = names.filter((n) => values[`${n}-only`]);
  const on = Object.fromEntries(names.map((n) => [n, only.length ? only.includes(n) : !values[`skip-${n}`]]));
  return { ...on, poolsOnly: only.length > 0 };
}

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

/** Every throughput measurement of one run, as [bucket, key, label, fn(system)]. */
function throughputSteps(opts, redis) {
  const enq = Object.keys(ENQUEUE_MODES).map((mode) => ['enqueue', mode, `enqueue ${mode}`, (s) => enqueue(s, redis, mode, opts.n)]);
  const proc = CONCURRENCIES.map((c) => ['processing', `c${c}`, `process c=${c}`, (s) => processing(s, redis, opts.n, c)]);
  return [...enq, ...proc];
}

async function measureAll(opts, systems, redis) {
  const raw = Object.fromEntries(systems.map((s) => [s.key, { enqueue: {}, processing: {}, latency: null }]));
  for (let run = 1; run <= opts.runs; run++) {
    // Systems take turns within each step (order rotating per run), so compared figures are
    // measured close together on a machine whose speed drifts.
    const order = systems.map((_, i) => systems[(i + run - 1) % systems.length]);
    for (const [bucket, key, label, measure] of throughputSteps(opts, redis)) {
      for (const s of order) {
        const r = await measure(s);
        (raw[s.key][bucket][key] ??= []).push(r);
        log(`run ${run}/${opts.runs} ${s.label} ${label}: ${Math.round(r.jobsPerSec)} jobs/s, ${r.cmdsPerJob.toFixed(1)} cmds/job`);
      }
    }
  }
  for (const s of systems) {
    const l = (raw[s.key].latency = await latency(s, redis, opts.rate, opts.latencyCount));
    log(`${s.label} latency @${opts.rate}/s: p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms`);
  }
  return raw;
}

/** Medians over runs, per figure. */
function summarize(raw) {
  const med = (list, field) => median(list.map((r) => r[field]));
  const out = {};
  for (const [key, r] of Object.entries(raw)) {
    const enq = Object.fromEntries(Object.entries(r.enqueue).map(([m, list]) => [m, { jobsPerSec: med(list, 'jobsPerSec'), runs: list }]));
    const proc = Object.fromEntries(
      Object.entries(r.processing).map(([c, list]) => [
        c,
        { jobsPerSec: med(list, 'jobsPerSec'), redisCpuUsPerJob: med(list, 'redisCpuUsPerJob'), workerCpuUsPerJob: med(list, 'workerCpuUsPerJob'), runs: list },
      ]),
    );
    const cmds = {
      enqueue: med(r.enqueue.inflight, 'cmdsPerJob'),
      processC1: med(r.processing.c1, 'cmdsPerJob'),
      processC50: med(r.processing.c50, 'cmdsPerJob'),
    };
    cmds.total = cmds.enqueue + Math.max(cmds.processC1, cmds.processC50);
    out[key] = { enqueue: enq, processing: proc, latency: r.latency, cmdsPerJob: cmds, bytesPerJob: med(r.enqueue.bulk, 'bytesPerJob') };
  }
  return out;
}

async function main() {
  const opts = options();
  const systems = await Promise.all(opts.systems.map(loadSystem));
  const redis = await startRedis();
  const abort = (sig) => {
    log(`${sig}: stopping redis-server and exiting`);
    redis.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', abort).once('SIGTERM', abort);
  log(`redis ${redis.version} on 127.0.0.1:${redis.port}; n=${opts.n}, runs=${opts.runs}, latency ${opts.latencyCount} jobs @${opts.rate}/s`);
  const started = Date.now();
  try {
    const systemsOut = opts.poolsOnly ? {} : summarize(await measureAll(opts, systems, redis));
    const targets = opts.poolsOnly ? [] : checkTargets(systemsOut);
    if (!opts.poolsOnly) process.stdout.write(`\n${table(systemsOut)}\n\n${targetsText(targets)}\n`);
    const taskq = systems.find((s) => s.key === 'taskq');
    const extras = !opts.poolsOnly && taskq ? await measureExtras(taskq, redis, { n: opts.n, runs: opts.runs, log }) : undefined;
    if (extras) process.stdout.write(`\n${extrasText(extras, systemsOut)}`);
    const pools = opts.pools ? await measurePools(redis, { n: Math.min(opts.n, 4000), log }) : undefined;
    if (pools) process.stdout.write(`\n${poolsTable(pools)}`);
    const multi = opts.multi ? await measureMulti(redis, { runs: opts.runs, log }) : undefined;
    if (multi) process.stdout.write(`\n${multiText(multi)}`);
    const beat = opts.beat ? await measureBeat(redis, { seconds: opts.beatSeconds, log }) : undefined;
    if (beat) process.stdout.write(`\n${beatText(beat)}`);
    const capture = opts.capture ? await measureCapture({ log }) : undefined;
    if (capture) process.stdout.write(`\n${captureText(capture)}`);
    const cache = opts.cache ? await measureCache(redis, { log, runs: opts.runs }) : undefined;
    if (cache) process.stdout.write(`\n${cacheText(cache)}`);
    const ui = opts.ui ? await measureUi(redis, { log }) : undefined;
    if (ui) process.stdout.write(`\n${uiText(ui)}`);
    const chord = opts.chord ? await measureChord(redis, { n: opts.n >= 20_000 ? 10_000 : 1000, runs: opts.runs, log }) : undefined;
    if (chord) process.stdout.write(`\n${chordText(chord)}`);
    const meta = { date: new Date().toISOString(), node: process.version, redis: redis.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, durationMs: Date.now() - started, ...opts };
    writeJson(RESULTS_FILE, { meta, systems: systemsOut, targets, extras, pools, multi, beat, capture, cache, ui, chord });
    log(`figures written to bench/results/latest.json (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench: failed: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
