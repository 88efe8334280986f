/**
 * taskq capture --read against tshark (the ground truth, with TCP desegmentation) on real traffic
 * captured from lo: the same request URLs, none missed, none extra.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runTaskq } from '../helpers/processes.js';
import { recordTraffic } from '../helpers/traffic.js';

describe('taskq capture --read against tshark', () => {
  it('finds exactly the requests tshark finds, and the ones the clients made', async () => {
    const { file, urls, ports } = await recordTraffic(2);
    const ours = await runTaskq(['capture', '--read', file, '--json', '--http-only'], {});
    expect(ours.code, ours.stderr).toBe(0);
    const found = ours.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { url: string }).url);
    // The servers' ports are random: tell tshark they carry HTTP (its heuristics miss a head split early).
    const decodeAs = ports.flatMap((p) => ['-d', `tcp.port==${p},http`]);
    const tshark = execFileSync('tshark', ['-r', file, ...decodeAs, '-Y', 'http.request && tcp', '-T', 'fields', '-e', 'http.request.full_uri'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')
      .flatMap((line) => line.split(',')) // pipelined requests in one frame share a line
      .filter(Boolean);
    expect([...found].sort()).toEqual([...urls].sort());
    expect([...found].sort()).toEqual([...tshark].sort());

    // --filter (through libpcap): only the IPv6 server's requests.
    const six = await runTaskq(['capture', '--read', file, '--json', '--http-only', '--filter', `tcp port ${ports[1]}`], {});
    expect(six.code, six.stderr).toBe(0);
    expect(six.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { url: string }).url)).toEqual(urls.filter((u) => u.includes('[::1]')));
    const badFilter = await runTaskq(['capture', '--read', file, '--filter', 'tcp port banana'], {});
    expect(badFilter.code).toBe(65);
    expect(badFilter.stderr).toContain("unknown port 'banana' (with the filter: tcp port banana; see man pcap-filter)");
  });
});
