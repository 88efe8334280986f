/** preact with htm: components in tagged templates, no JSX build step. */
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

export function ago(ms: number | undefined): string {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : new Date(ms).toLocaleString();
}
