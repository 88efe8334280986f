/** The taskq web UI: a hash router over the pages, a header with the live status. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onStatus } from './api.js';
import { html } from './html.js';
import { Dashboard } from './pages/dashboard.js';
import { TaskDetail, Tasks } from './pages/tasks.js';
import { Workers } from './pages/workers.js';
import { Beat } from './pages/beat.js';
import { Cache } from './pages/cache.js';
import { Downloads, speedText } from './pages/downloads.js';

const PAGES: Array<[string, string]> = [['#/', 'Dashboard'], ['#/tasks', 'Tasks'], ['#/workers', 'Workers'], ['#/beat', 'Beat'], ['#/downloads', 'Downloads'], ['#/cache', 'Cache']];

/** A malformed %-escape in the address shows as written instead of breaking the page. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function App() {
  const hash = useHash();
  const [live, setLive] = useState('connecting');
  useEffect(() => onStatus(setLive), []);
  const [speed, setSpeed] = useState<number | undefined>();
  useEffect(() => {
    const on = (e: Event) => setSpeed((e as CustomEvent<number>).detail);
    addEventListener('taskq-speed', on);
    return () => removeEventListener('taskq-speed', on);
  }, []);
  const detail = /^#\/tasks\/(.+)$/.exec(hash);
  const pages: Record<string, () => unknown> = { '#/tasks': () => html`<${Tasks} />`, '#/workers': () => html`<${Workers} />`, '#/beat': () => html`<${Beat} />`, '#/cache': () => html`<${Cache} />`, '#/downloads': () => html`<${Downloads} />` };
  const page = detail ? html`<${TaskDetail} id=${safeDecode(detail[1]!)} />` : (pages[hash] ?? (() => html`<${Dashboard} />`))();
  return html`
    <header><b>taskq</b>
      <nav>${PAGES.map(([href, name]) => html`<a href=${href} class=${hash === href || (href !== '#/' && hash.startsWith(href)) ? 'here' : ''}>${name}</a>`)}</nav>
      ${speed !== undefined && html`<span id="speed">↓ ${speedText(speed)}</span>`}
      <span id="live" class=${live}>${live}</span></header>
    <main>${page}</main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
