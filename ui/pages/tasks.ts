/** Tasks: the table (filters, search; refreshed live) and one task's detail (record, events, revoke). */
import { useEffect, useState } from 'preact/hooks';
import { api, onEvent } from '../api.js';
import { ago, html } from '../html.js';

interface Row { id: string; name: string; state: string; node?: string; args?: unknown; runtimeMs?: number; updatedAt: number; error?: { message?: string } }

const STATES = ['', 'PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'];

export function Tasks() {
  const [rows, setRows] = useState<Row[]>([]);
  const [filter, setFilter] = useState({ name: '', state: '', search: '' });
  const [error, setError] = useState('');
  useEffect(() => {
    let pending = false;
    const load = () => {
      const q = new URLSearchParams(Object.entries(filter).filter(([, v]) => v) as Array<[string, string]>);
      return api<{ tasks: Row[] }>(`/api/tasks?${q}`).then((r) => (setRows(r.tasks), setError('')), (err: Error) => setError(err.message));
    };
    void load();
    // Live: a task event reloads the table, at most every half second.
    const off = onEvent((e) => {
      if (!e.type.startsWith('task-') || pending) return;
      pending = true;
      setTimeout(() => ((pending = false), void load()), 500);
    });
    return off;
  }, [filter.name, filter.state, filter.search]);
  const set = (k: keyof typeof filter) => (e: Event) => setFilter({ ...filter, [k]: (e.target as HTMLInputElement).value });
  return html`
    <h1>Tasks</h1>
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <input name="name" placeholder="task name" value=${filter.name} onChange=${set('name')} />
      <select name="state" value=${filter.state} onChange=${set('state')}>${STATES.map((s) => html`<option value=${s}>${s || 'any state'}</option>`)}</select>
      <input name="search" placeholder="search args, result, error" value=${filter.search} onInput=${set('search')} />
    </form>
    ${error && html`<p class="error">${error}</p>`}
    <table id="tasks"><thead><tr><th>id</th><th>task</th><th>state</th><th>node</th><th>args</th><th>runtime</th><th>updated</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr data-id=${r.id} data-state=${r.state}>
        <td><a href=${`#/tasks/${encodeURIComponent(r.id)}`}>${r.id.slice(0, 13)}</a></td><td>${r.name}</td><td class=${`state ${r.state}`}>${r.state}</td>
        <td>${r.node ?? ''}</td><td class="args">${r.args === undefined ? '' : jsonText(r.args).slice(0, 80)}</td><td>${r.runtimeMs !== undefined ? `${r.runtimeMs < 10 ? r.runtimeMs.toFixed(1) : Math.round(r.runtimeMs)} ms` : ''}</td><td>${ago(r.updatedAt)}</td></tr>`)}</tbody></table>`;
}

interface Detail { task: Row & { result?: unknown; progress?: unknown; kwargs?: Record<string, unknown> }; record: Record<string, unknown> | null; events: Array<{ streamId: string; type: string; time: number; data: Record<string, unknown> }> }

export function TaskDetail({ id }: { id: string }) {
  const [d, setD] = useState<Detail | undefined>();
  const [error, setError] = useState('');
  const [note, setNote] = useState('');
  const load = () => api<Detail>(`/api/tasks/${encodeURIComponent(id)}`).then((x) => (setD(x), setError('')), (err: Error) => setError(err.message));
  useEffect(() => {
    void load();
    return onEvent((e) => e.data.id === id && void load());
  }, [id]);
  const revoke = (terminate: boolean) =>
    api<{ revoked: string }>(`/api/tasks/${encodeURIComponent(id)}/revoke`, { method: 'POST', body: { terminate } }).then((r) => setNote(`revoke: ${r.revoked}`), (err: Error) => setNote(err.message));
  const retry = () => api<{ queue: string }>(`/api/tasks/${encodeURIComponent(id)}/retry`, { method: 'POST', body: {} }).then((r) => setNote(`sent again on ${r.queue}`), (err: Error) => setNote(err.message));
  const rec = d?.record;
  const err = (rec?.error ?? d?.task.error) as { name?: string; message?: string; stack?: string } | undefined;
  return html`
    <h1>Task <code>${id}</code></h1>
    ${error && html`<p class="error">${error}</p>`}
    ${d && html`
      <p>${d.task.name} — <span id="task-state" class=${`state ${String(rec?.state ?? d.task.state)}`}>${String(rec?.state ?? d.task.state)}</span> ${d.task.node ? `on ${d.task.node}` : ''}</p>
      <p><button id="revoke" onClick=${() => revoke(false)}>Revoke</button> <button id="terminate" onClick=${() => revoke(true)}>Terminate</button> ${String(rec?.state ?? d.task.state) === 'FAILURE' && html`<button id="retry" onClick=${retry}>Retry</button>`} <span id="note">${note}</span></p>
      <h2>Arguments</h2><pre>${jsonText(d.task.args ?? rec?.args ?? null, 2)}</pre>
      ${d.task.kwargs && html`<h2>Keyword arguments</h2><pre>${JSON.stringify(d.task.kwargs, null, 2)}</pre>`}
      ${rec && 'result' in rec && html`<h2>Result</h2><pre>${JSON.stringify(rec.result, null, 2)}</pre>`}
      ${rec?.progress !== undefined && html`<h2>Progress</h2><pre>${JSON.stringify(rec.progress, null, 2)}</pre>`}
      ${err && html`<h2>Error</h2><pre class="error">${err.name ?? 'Error'}: ${err.message ?? ''}\n${err.stack ?? ''}</pre>`}
      <h2>Events</h2>
      <ol class="timeline">${d.events.map((e) => html`<li><time>${new Date(e.time).toISOString()}</time> ${e.type} ${e.data.node ? `(${String(e.data.node)})` : ''}</li>`)}</ol>`}`;
}

/** Events carry arguments as their JSON text already (cut at 512 bytes); a job's own are values. */
function jsonText(value: unknown, indent?: number): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, indent);
}
