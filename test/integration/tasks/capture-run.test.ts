/**
 * capture.run stops when its signal aborts — also when the abort came while it was still starting
 * (a node stopped right after the capture was sent: npm start's Ctrl-C early on waited the whole
 * shutdown timeout for it).
 */
import { describe, expect, it } from 'vitest';
import { registerCapture } from '../../../src/tasks/capture/run.js';
import { silent, testApp } from '../../helpers/apps.js';

describe('capture.run', () => {
  it('aborted before it waits: it ends at once with the reason, its capture closed', async () => {
    const app = testApp();
    registerCapture(app);
    const handler = app.tasks.get('capture.run')!.handler;
    const stop = new Error('the node is stopping');
    const ctx = { signal: AbortSignal.abort(stop), log: silent, progress: async () => {}, node: 't@test', id: 'capture:lo' };
    await expect(handler(ctx, { device: 'lo', statsMs: 60_000 })).rejects.toBe(stop);
  });
});
