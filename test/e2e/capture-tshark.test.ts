/**
 * taskq capture --read against tshark (the ground truth, with TCP desegmentation) on real traffic
 * captured from lo: the same request URLs, none missed, none extra.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { root, runTaskq } from '../helpers/processes.js';

const fixtureCapture = (name: string): string => `${root}test/fixtures/captures/${name}`;
import { recordTraffic } from '../helpers/traffic.js';

describe('taskq capture --read against tshark', () => {
  it('finds exactly the requests tshark finds, and the ones the clients made', async () => {
    const { file, urls, ports } = await recordTraffic(2);
    const ours = await runTaskq(['capture', '--read', file, '--json', '--http-only'], {});
    expect(ours.code, ours.stderr).toBe(0);
    const found = ours.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { url: string }).url);
    // The servers' ports are random: tell tshark they carry HTTP (its heuristics miss a head split early).
    const decodeAs = ports.flatMap((p) => ['-d', `tcp.port==${p},http`]);
    const fields = ['http.request.full_uri', 'http.request.uri', 'ip.dst', 'tcp.dstport'].flatMap((f) => ['-e', f]);
    const tshark = execFileSync('tshark', ['-r', file, ...decodeAs, '-Y', 'http.request && tcp', '-T', 'fields', ...fields], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')
      .flatMap((line) => {
        const [full = '', uri = '', dst = '', port = ''] = line.split('\t');
        // Without a Host header (HTTP/1.0) tshark has no full URI: the address it was sent to stands in, as in ours.
        if (!full) return uri.split(',').map((u) => `http://${dst}:${port}${u}`);
        return full.split(','); // pipelined requests in one frame share a line
      })
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

  it('public captures (test/fixtures/captures: Ethernet, PPP, L2TP-tunnelled IPv6): the same URLs as tshark', async () => {
    for (const name of ['http.pcap', 'nb6-http.pcap']) {
      const file = fixtureCapture(name);
      const ours = await runTaskq(['capture', '--read', file, '--json', '--http-only'], {});
      expect(ours.code, ours.stderr).toBe(0);
      const found = ours.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { url: string }).url);
      const tshark = execFileSync('tshark', ['-r', file, '-Y', 'http.request && tcp', '-T', 'fields', '-e', 'http.request.full_uri'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .trim()
        .split('\n')
        .flatMap((line) => line.split(','))
        .filter(Boolean);
      expect(tshark.length, name).toBeGreaterThan(0);
      expect([...found].sort(), name).toEqual([...tshark].sort());
    }
  });
});
