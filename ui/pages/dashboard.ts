/** Dashboard: nodes online, queue depths, and throughput over time (tasks ended per 5 s, live). */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api, onEvent } from '../api.js';
import { html } from '../html.js';

interface Worker { node: string; queues?: string[]; active?: number; processed?: number; concurrency?: number; problem?: string }
interface Queue { queue: string; waiting: number; active: number; delayed: number; dead: number }

const BUCKET_MS = 5000;
const BUCKETS = 120; // 10 minutes

function Throughput() {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const now = () => Math.floor(Date.now() / BUCKET_MS);
    const start = now() - BUCKETS + 1;
    const times = Array.from({ length: BUCKETS }, (_, i) => ((start + i) * BUCKET_MS) / 1000);
    const ok = new Array<number>(BUCKETS).fill(0);
    const failed = new Array<number>(BUCKETS).fill(0);
    const plot = new uPlot({ width: box.current!.clientWidth || 800, height: 220, series: [{}, { label: 'succeeded', stroke: '#2a7' }, { label: 'failed', stroke: '#c33' }], axes: [{}, { label: 'tasks / 5 s' }] }, [times, ok, failed], box.current!);
    const shift = () => {
      while (times.at(-1)! < (now() * BUCKET_MS) / 1000) {
        times.push(times.at(-1)! + BUCKET_MS / 1000);
        times.shift();
        ok.push(0);
        ok.shift();
        failed.push(0);
        failed.shift();
      }
    };
    const off = onEvent((e) => {
      if (e.type !== 'task-succeeded' && e.type !== 'task-failed') return;
      shift();
      (e.type === 'task-succeeded' ? ok : failed)[BUCKETS - 1]! += 1;
    });
    const timer = setInterval(() => {
      shift();
      plot.setData([times, ok, failed]);
    }, 1000);
    return () => {
      off();
      clearInterval(timer);
      plot.destroy();
    };
  }, []);
  return html`<div class="chart" ref=${box}></div>`;
}

export function Dashboard() {
  const [workers, setWorkers] = useState<Worker[] | undefined>();
  const [queues, setQueues] = useState<Queue[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    const load = () =>
      Promise.all([api<{ workers: Worker[] }>('/api/workers'), api<{ queues: Queue[] }>('/api/queues')]).then(
        ([w, q]) => (setWorkers(w.workers), setQueues(q.queues), setError('')),
        (err: Error) => setError(err.message),
      );
    void load();
    const timer = setInterval(load, 5000);
    const off = onEvent((e) => e.type.startsWith('worker-o') && void load());
    return () => (clearInterval(timer), off());
  }, []);
  return html`
    <h1>Dashboard</h1>
    ${error && html`<p class="error">${error}</p>`}
    <section class="cards">
      <div class="card"><b id="nodes-online">${workers?.length ?? '…'}</b> nodes online</div>
      <div class="card"><b>${queues.reduce((a, q) => a + q.waiting, 0)}</b> jobs waiting</div>
      <div class="card"><b>${queues.reduce((a, q) => a + q.active, 0)}</b> running</div>
      <div class="card"><b>${queues.reduce((a, q) => a + q.dead, 0)}</b> dead</div>
    </section>
    <h2>Throughput</h2>
    <${Throughput} />
    <h2>Nodes</h2>
    <table id="nodes"><thead><tr><th>node</th><th>queues</th><th>concurrency</th><th>active</th><th>processed</th><th>health</th></tr></thead>
      <tbody>${(workers ?? []).map((w) => html`<tr><td>${w.node}</td><td>${(w.queues ?? []).join(', ')}</td><td>${w.concurrency ?? ''}</td><td>${w.active ?? ''}</td><td>${w.processed ?? ''}</td><td>${w.problem ?? 'ok'}</td></tr>`)}</tbody></table>
    <h2>Queues</h2>
    <table id="queues"><thead><tr><th>queue</th><th>waiting</th><th>running</th><th>delayed</th><th>dead</th></tr></thead>
      <tbody>${queues.map((q) => html`<tr><td>${q.queue}</td><td>${q.waiting}</td><td>${q.active}</td><td>${q.delayed}</td><td>${q.dead}</td></tr>`)}</tbody></table>`;
}
