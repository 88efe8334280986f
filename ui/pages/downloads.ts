/**
 * Downloads, yaaw-style: every download node's aria2 — global speed (also in the header and the
 * page's title), Active / Waiting / Stopped with progress bars, speed, ETA and connections; select to
 * pause, start or remove; pause all, start all, purge finished; the speed limit and concurrency; add a
 * download (a taskq job, so it lands in the cache); a refresh interval; a notice when one completes.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html } from '../html.js';

interface Row { gid: string; status: string; name: string; uri?: string; total: number; completed: number; speed: number; connections: number; eta: number | null; error?: string }
interface Node { name: string; error?: string; stat?: { downloadSpeed: string; numActive: string; numWaiting: string; numStopped: string }; active?: Row[]; waiting?: Row[]; stopped?: Row[]; options?: { maxOverallDownloadLimit: string; maxConcurrentDownloads: string } }

export const speedText = (b: number): string => (b >= 1048576 ? `${(b / 1048576).toFixed(1)} MB/s` : b >= 1024 ? `${Math.round(b / 1024)} KB/s` : `${b} B/s`);
const size = (b: number): string => (b >= 1073741824 ? `${(b / 1073741824).toFixed(2)} GiB` : `${(b / 1048576).toFixed(1)} MiB`);

interface DetailData extends Row { files: Array<{ index: number; length: number; completed: number; uris: Array<{ uri: string; status: string }> }>; options: { maxDownloadLimit: string; split?: string; maxConnectionPerServer?: string } }

/** One download: its files and sources, and its own speed limit (the only option edited here). */
function Detail({ node, gid, close }: { node: string; gid: string; close: () => void }) {
  const [d, setD] = useState<DetailData | undefined>();
  const [note, setNote] = useState('');
  const load = () => api<DetailData>(`/api/aria2/${encodeURIComponent(node)}/${gid}`).then(setD, (err: Error) => setNote(err.message));
  useEffect(() => {
    void load();
    const timer = setInterval(load, 2000);
    return () => clearInterval(timer);
  }, [node, gid]);
  const save = (e: Event) => {
    e.preventDefault();
    const limit = String(new FormData(e.target as HTMLFormElement).get('limit') || '0');
    void api(`/api/aria2/${encodeURIComponent(node)}/${gid}/options`, { method: 'POST', body: { maxDownloadLimit: limit } }).then(() => (setNote('saved'), load()), (err: Error) => setNote(err.message));
  };
  return html`<aside id="download-detail" data-gid=${gid}>
    <h3>${d?.name ?? gid} <button onClick=${close}>×</button></h3>
    ${d && html`<p>${d.status} · ${d.connections} connections · split ${d.options.split ?? '?'} · gid ${gid}</p>
      <ul>${d.files.map((f) => html`<li>file ${f.index}: ${size(f.completed)} of ${size(f.length)}<ul>${f.uris.map((u) => html`<li>${u.uri} (${u.status})</li>`)}</ul></li>`)}</ul>
      <form class="filters" onSubmit=${save}>its speed limit <input name="limit" size="6" value=${d.options.maxDownloadLimit} title="bytes/s, or with K or M; 0: none" /> <button>Save</button> <span>${note}</span></form>`}
  </aside>`;
}

function List({ node, title, rows, selected, toggle, open }: { node: string; title: string; rows: Row[]; selected: Set<string>; toggle: (gid: string) => void; open: (gid: string) => void }) {
  return html`<h3>${title} (${rows.length})</h3>
    <table class="downloads" data-list=${title.toLowerCase()} data-node=${node}><tbody>${rows.map((r) => {
      const pct = r.total ? Math.floor((r.completed / r.total) * 100) : 0;
      return html`<tr data-gid=${r.gid} data-status=${r.status}>
        <td><input type="checkbox" checked=${selected.has(r.gid)} onChange=${() => toggle(r.gid)} /></td>
        <td title=${r.uri ?? ''}><a href="#/downloads" onClick=${(e: Event) => (e.preventDefault(), open(r.gid))}>${r.name}</a></td>
        <td class="bar"><div class="progress"><div style=${`width:${pct}%`} data-pct=${pct}></div></div> ${pct}% of ${size(r.total)}</td>
        <td>${r.status === 'active' ? speedText(r.speed) : r.status}</td><td>${r.eta !== null && r.status === 'active' ? `${r.eta} s left` : ''}</td>
        <td>${r.status === 'active' ? `${r.connections} conn.` : ''}</td><td class="error">${r.error ?? ''}</td></tr>`;
    })}</tbody></table>`;
}

export function Downloads() {
  const [nodes, setNodes] = useState<Node[]>([]);
  const [every, setEvery] = useState(1000);
  const [note, setNote] = useState('');
  const [selected, setSelected] = useState(new Set<string>());
  const [detail, setDetail] = useState<{ node: string; gid: string } | undefined>();
  const seen = useRef(new Set<string>());
  const load = () =>
    api<{ nodes: Node[] }>('/api/aria2').then((r) => {
      setNodes(r.nodes);
      const speed = r.nodes.reduce((a, n) => a + Number(n.stat?.downloadSpeed ?? 0), 0);
      document.title = `↓ ${speedText(speed)} — taskq`;
      dispatchEvent(new CustomEvent('taskq-speed', { detail: speed }));
      for (const n of r.nodes) for (const d of n.stopped ?? []) {
        if (d.status === 'complete' && !seen.current.has(d.gid)) {
          if (seen.current.size) setNote(`completed: ${d.name}`);
          seen.current.add(d.gid);
        }
      }
      if (!seen.current.size) seen.current.add('');
    }, (err: Error) => setNote(err.message));
  useEffect(() => {
    void load();
    const timer = setInterval(load, every);
    return () => clearInterval(timer);
  }, [every]);
  const toggle = (gid: string) => {
    const s = new Set(selected);
    if (s.has(gid)) s.delete(gid);
    else s.add(gid);
    setSelected(s);
  };
  const act = (node: string, action: string, gids?: string[]) =>
    api(`/api/aria2/${encodeURIComponent(node)}/${action}`, { method: 'POST', body: gids ? { gids } : {} }).then(() => (setSelected(new Set()), load()), (err: Error) => setNote(err.message));
  const add = (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const url = String(new FormData(form).get('url'));
    void api<{ id: string }>('/api/downloads', { method: 'POST', body: { url } }).then((r) => (setNote(`sent as job ${r.id}`), form.reset(), (form.closest('dialog') as HTMLDialogElement | null)?.close()), (err: Error) => setNote(err.message));
  };
  const limits = (node: string) => (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    void api(`/api/aria2/${encodeURIComponent(node)}/options`, { method: 'POST', body: { maxOverallDownloadLimit: String(f.get('limit') || '0'), maxConcurrentDownloads: Number(f.get('concurrent')) } }).then(() => (setNote('limits changed'), load()), (err: Error) => setNote(err.message));
  };
  return html`
    <h1>Downloads</h1>
    <p><button id="add-download" onClick=${() => (document.getElementById('add-dialog') as HTMLDialogElement).showModal()}>Add…</button>
      refresh every <select value=${every} onChange=${(e: Event) => setEvery(Number((e.target as HTMLSelectElement).value))}>${[1000, 2000, 5000, 10000].map((v) => html`<option value=${v}>${v / 1000} s</option>`)}</select>
      <span id="note">${note}</span></p>
    <dialog id="add-dialog"><form method="dialog" id="add-form" onSubmit=${add}><label>URL <input name="url" type="url" size="60" required placeholder="http://…/video.mp4" /></label> <button>Download</button></form></dialog>
    ${detail && html`<${Detail} node=${detail.node} gid=${detail.gid} close=${() => setDetail(undefined)} />`}
    ${nodes.length === 0 && html`<p>No aria2 is running yet: a download node starts its own with its first download.</p>`}
    ${nodes.map((n) => html`<section class="aria2" data-node=${n.name}>
      <h2>${n.name} <small>${n.error ?? `↓ ${speedText(Number(n.stat?.downloadSpeed ?? 0))}`}</small></h2>
      ${!n.error && html`
        <p><button onClick=${() => act(n.name, 'pause', [...selected])} disabled=${!selected.size}>Pause</button>
          <button onClick=${() => act(n.name, 'unpause', [...selected])} disabled=${!selected.size}>Start</button>
          <button onClick=${() => act(n.name, 'remove', [...selected])} disabled=${!selected.size}>Remove</button>
          <button onClick=${() => act(n.name, 'pause-all')}>Pause all</button> <button onClick=${() => act(n.name, 'unpause-all')}>Start all</button>
          <button onClick=${() => act(n.name, 'purge')}>Purge finished</button></p>
        <form class="filters" onSubmit=${limits(n.name)}>speed limit <input name="limit" size="6" value=${n.options?.maxOverallDownloadLimit ?? '0'} title="bytes/s, or with K or M; 0: none" />
          at once <input name="concurrent" type="number" min="1" max="64" value=${n.options?.maxConcurrentDownloads ?? '5'} /> <button>Set</button></form>
        <${List} node=${n.name} title="Active" rows=${n.active ?? []} selected=${selected} toggle=${toggle} open=${(gid: string) => setDetail({ node: n.name, gid })} />
        <${List} node=${n.name} title="Waiting" rows=${n.waiting ?? []} selected=${selected} toggle=${toggle} open=${(gid: string) => setDetail({ node: n.name, gid })} />
        <${List} node=${n.name} title="Stopped" rows=${n.stopped ?? []} selected=${selected} toggle=${toggle} open=${(gid: string) => setDetail({ node: n.name, gid })} />`}
    </section>`)}`;
}
