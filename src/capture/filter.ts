/** The BPF filter live capture uses: HTTP on the given ports, TLS on 443 for server names. */
import { OptionError } from '../errors.js';

export const DEFAULT_PORTS = [80, 8080, 8000, 3128];

/** The BPF filter of the ports (checked: whole numbers 1–65535). */
export function captureFilter(ports: number[], tls: boolean): string {
  for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new OptionError(`capture: port ${JSON.stringify(p)} is not a TCP port (1–65535)`);
  const all = [...new Set([...ports, ...(tls ? [443] : [])])];
  return `tcp and (${all.map((p) => `port ${p}`).join(' or ')})`;
}
