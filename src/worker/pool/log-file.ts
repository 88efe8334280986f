/** Where a pool child logs: the node's --logfile template with the child's index. */

/**
 * Pool-process index templates in file names (Celery's): `%i` the index (0 for the node's main
 * process), `%I` `-<index>` or nothing for the main process. `--logfile /var/log/w%I.log` gives each
 * pool child its own file.
 */
export function expandIndex(template: string, index: number): string {
  return template.replace(/%([iI%])/g, (_, c: string) => (c === 'i' ? String(index) : c === 'I' ? (index ? `-${index}` : '') : '%'));
}
