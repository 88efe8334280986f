/** Workers: each node's pool, queues, running tasks, and controls (grow, shrink, add / cancel a queue, shut down). */
import { useEffect, useState } from 'preact/hooks';
import { api, onEvent } from '../api.js';
import { html } from '../html.js';

interface Worker { node: string; pid?: number; queues?: string[]; active?: number; processed?: number; failed?: number; concurrency?: number; problem?: string }
interface Gathered<T> { replies: Array<{ node: string; ok: boolean; result?: T; error?: string }>; missing: string[] }
interface ActiveJob { id: string; task: string; startedAt?: number }

export function Workers() {
  const [workers, setWorkers] = useState<Worker[]>([]);
  const [active, setActive] = useState<Record<string, ActiveJob[]>>({});
  const [note, setNote] = useState('');
  const load = async () => {
    const [w, a] = await Promise.all([api<{ workers: Worker[] }>('/api/workers'), api<Gathered<ActiveJob[]>>('/api/inspect/active').catch(() => ({ replies: [], missing: [] }))]);
    setWorkers(w.workers);
    setActive(Object.fromEntries(a.replies.map((r) => [r.node, r.result ?? []])));
  };
  useEffect(() => {
    void load().catch((err: Error) => setNote(err.message));
    const timer = setInterval(() => void load().catch(() => undefined), 5000);
    const off = onEvent((e) => (e.type === 'worker-online' || e.type === 'worker-offline') && void load());
    return () => (clearInterval(timer), off());
  }, []);
  const control = (node: string, method: string, args: Record<string, unknown> = {}) =>
    api<Gathered<unknown>>(`/api/control/${method}`, { method: 'POST', body: { nodes: [node], args } }).then(
      (g) => setNote(`${method} → ${node}: ${g.replies.map((r) => (r.ok ? 'ok' : r.error)).join(', ') || `no reply (${g.missing.join(', ')})`}`),
      (err: Error) => setNote(err.message),
    );
  return html`
    <h1>Workers</h1>
    <p id="note">${note}</p>
    ${workers.map((w) => html`
      <section class="worker" data-node=${w.node}>
        <h2>${w.node} <small>pid ${w.pid ?? '?'} — ${w.problem ?? 'healthy'}</small></h2>
        <p>queues ${(w.queues ?? []).join(', ')} · concurrency ${w.concurrency ?? '?'} · active ${w.active ?? 0} · processed ${w.processed ?? 0} · failed ${w.failed ?? 0}</p>
        <p>
          <button onClick=${() => control(w.node, 'pool_grow', { n: 1 })}>Grow pool</button>
          <button onClick=${() => control(w.node, 'pool_shrink', { n: 1 })}>Shrink pool</button>
          <button onClick=${() => { const q = prompt('queue to consume'); if (q) void control(w.node, 'add_consumer', { queue: q }); }}>Add queue</button>
          <button onClick=${() => { const q = prompt('queue to stop consuming'); if (q) void control(w.node, 'cancel_consumer', { queue: q }); }}>Cancel queue</button>
          <button class="danger" onClick=${() => confirm(`shut ${w.node} down?`) && void control(w.node, 'shutdown')}>Shut down</button>
        </p>
        <table><thead><tr><th>running</th><th>task</th><th>since</th></tr></thead>
          <tbody>${(active[w.node] ?? []).map((j) => html`<tr><td><a href=${`#/tasks/${encodeURIComponent(j.id)}`}>${j.id.slice(0, 13)}</a></td><td>${j.task}</td><td>${j.startedAt ? new Date(j.startedAt).toLocaleTimeString() : ''}</td></tr>`)}</tbody></table>
      </section>`)}`;
}
