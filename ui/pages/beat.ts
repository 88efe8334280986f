/** Beat: the schedule's entries with their last and next run; enable, disable, run now, remove, add. */
import { useEffect, useState } from 'preact/hooks';
import { api, onEvent } from '../api.js';
import { html } from '../html.js';

interface Entry { name: string; spec: { task: string; every?: string | number; cron?: string; args?: unknown[] }; source: 'app' | 'runtime'; enabled: boolean; last?: number; next?: number; total: number }

export function Beat() {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [note, setNote] = useState('');
  const load = () => api<{ entries: Entry[] }>('/api/beat').then((r) => setEntries(r.entries), (err: Error) => setNote(err.message));
  useEffect(() => {
    void load();
    return onEvent((e) => e.type === 'beat-fired' && void load());
  }, []);
  const act = (name: string, action: string) => api<Record<string, string>>(`/api/beat/${encodeURIComponent(name)}/${action}`, { method: 'POST', body: {} }).then((r) => (setNote(JSON.stringify(r)), load()), (err: Error) => setNote(err.message));
  const add = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const when = String(f.get('when'));
    const spec = { task: String(f.get('task')), ...(/\s/.test(when) ? { cron: when } : { every: when }) };
    void api('/api/beat', { method: 'POST', body: { name: String(f.get('name')), spec } }).then(() => (setNote(`added ${String(f.get('name'))}`), load()), (err: Error) => setNote(err.message));
  };
  const when = (ms?: number) => (ms ? new Date(ms).toLocaleString() : '');
  return html`
    <h1>Beat</h1>
    <p id="note">${note}</p>
    <table id="entries"><thead><tr><th>entry</th><th>task</th><th>when</th><th>source</th><th>last run</th><th>next run</th><th>sent</th><th></th></tr></thead>
      <tbody>${entries.map((e) => html`<tr data-entry=${e.name} data-enabled=${String(e.enabled)}>
        <td>${e.name}</td><td>${e.spec.task}</td><td>${e.spec.cron ? `cron ${e.spec.cron}` : `every ${String(e.spec.every)}`}</td><td>${e.source}</td>
        <td>${when(e.last)}</td><td>${e.enabled ? when(e.next) : 'disabled'}</td><td>${e.total}</td>
        <td><button onClick=${() => act(e.name, e.enabled ? 'disable' : 'enable')}>${e.enabled ? 'Disable' : 'Enable'}</button>
          <button onClick=${() => act(e.name, 'run-now')}>Run now</button>
          ${e.source === 'runtime' && html`<button onClick=${() => act(e.name, 'remove')}>Remove</button>`}</td></tr>`)}</tbody></table>
    <h2>Add an entry</h2>
    <form id="add-entry" class="filters" onSubmit=${add}>
      <input name="name" placeholder="name" required /><input name="task" placeholder="task" required />
      <input name="when" placeholder="every (30s, 5m) or cron (0 * * * *)" required /><button>Add</button>
    </form>`;
}
