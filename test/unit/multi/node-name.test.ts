import { describe, expect, it } from 'vitest';
import { expandIndex, expandNodeName } from '../../../src/multi/node-name.js';

describe('node-name templates', () => {
  it('expands %h, %n, %d, %% and adds @host to a bare name', () => {
    expect(expandNodeName('w1@%h', 'box.example.com')).toBe('w1@box.example.com');
    expect(expandNodeName('%n-worker@%d', 'box.example.com')).toBe('box-worker@example.com');
    expect(expandNodeName('w2', 'box')).toBe('w2@box');
    expect(expandNodeName('100%%@%n', 'box.lan')).toBe('100%@box');
  });

  it('expands %i and %I by pool index (0 = the main process)', () => {
    expect(expandIndex('/var/log/w%I.log', 0)).toBe('/var/log/w.log');
    expect(expandIndex('/var/log/w%I.log', 3)).toBe('/var/log/w-3.log');
    expect(expandIndex('w.%i.log', 0)).toBe('w.0.log');
    expect(expandIndex('w.%i.log', 2)).toBe('w.2.log');
    expect(expandIndex('100%%-w%I.log', 1)).toBe('100%-w-1.log');
  });
});
