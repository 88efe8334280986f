/** Cache: the cached videos with thumbnails, size, hits; play from the cache; remove. */
import { useEffect, useState } from 'preact/hooks';
import { api, onEvent, token } from '../api.js';
import { ago, html } from '../html.js';

interface Entry { id: string; url: string; kind: string; size: number; hits: number; lastAccess: number; sha256: string; thumbnail?: boolean }
interface Listing { entries: Entry[]; count: number; bytes: number; maxBytes: number; server: string }

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export function Cache() {
  const [c, setC] = useState<Listing | undefined>();
  const [note, setNote] = useState('');
  const load = () => api<Listing>('/api/cache').then(setC, (err: Error) => setNote(err.message));
  useEffect(() => {
    void load();
    return onEvent((e) => e.type === 'task-succeeded' && String(e.data.task).startsWith('download.') && void load());
  }, []);
  const remove = (id: string) => confirm('remove it from the cache?') && void api(`/api/cache/${id}/remove`, { method: 'POST', body: {} }).then(() => load(), (err: Error) => setNote(err.message));
  const q = token() ? `?token=${encodeURIComponent(token())}` : '';
  return html`
    <h1>Cache</h1>
    <p id="note">${note}</p>
    ${c && html`<p>${c.count} videos, ${mb(c.bytes)} of ${mb(c.maxBytes)}</p>
      <div class="videos">${c.entries.map((e) => html`
        <figure data-id=${e.id}>
          ${e.thumbnail ? html`<img src=${`/api/cache/${e.id}/thumbnail.jpg${q}`} alt="" />` : html`<div class="nothumb">${e.kind}</div>`}
          <figcaption><a href=${`${c.server}/c/${e.id}`} target="_blank" rel="noopener">${e.url.split('/').pop()?.slice(0, 60) || e.id}</a><br />
            ${mb(e.size)} · ${e.hits} hits · ${ago(e.lastAccess)} <button onClick=${() => remove(e.id)}>Remove</button></figcaption>
        </figure>`)}</div>`}`;
}
