import { describe, expect, it } from 'vitest';
import { defaults } from '../../../src/defaults.js';
import { stopBudgetMs } from '../../../src/multi/supervisor.js';

describe('how long a supervisor waits for a node to stop', () => {
  it("outlasts the node's whole drain: the timeout, the grace its aborted jobs get, writing their outcomes", () => {
    const drain = defaults.shutdownTimeoutMs + 2 * defaults.shutdownGraceMs;
    expect(stopBudgetMs()).toBeGreaterThan(drain);
    expect(stopBudgetMs(60_000)).toBeGreaterThan(60_000 + 2 * defaults.shutdownGraceMs);
  });
});
