/**
 * `taskq multi`'s %-templates in `--pidfile`, `--logfile` and `expand` (Celery's): for node
 * `w1@box.example.com`, `%n` and `%N` are the short name `w1`, `%h` the full node name, `%d` the
 * host part's domain (`example.com`), `%%` a percent sign. `%i` / `%I` (the pool-process index) are
 * the worker's to expand, per process; a pidfile belongs to the main process, index 0. Pure.
 */
import { expandIndex } from '../worker/pool/log-file.js';

/** Splits `short@host`. */
export function splitNodeName(name: string): { short: string; host: string } {
  const at = name.indexOf('@');
  return at < 0 ? { short: name, host: '' } : { short: name.slice(0, at), host: name.slice(at + 1) };
}

/**
 * Expands the node-name fields and leaves `%i`, `%I` and `%%` for the worker (which expands them
 * with each pool process's index), so a literal `%%I` stays literal.
 */
export function expandNodeFields(template: string, node: string): string {
  const { short, host } = splitNodeName(node);
  const dot = host.indexOf('.');
  const domain = dot < 0 ? '' : host.slice(dot + 1);
  return template.replace(/%([nNhdiI%])/g, (whole, c: string) => {
    if (c === 'n' || c === 'N') return short;
    if (c === 'h') return node;
    if (c === 'd') return domain;
    return whole;
  });
}

/** Expands every field, as for the node's main process: what `expand` prints and where a pidfile goes. */
export function expandForNode(template: string, node: string): string {
  return expandIndex(expandNodeFields(template, node), 0);
}
