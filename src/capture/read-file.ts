/**
 * Reads a capture file through the same flow tracker live capture uses (`taskq capture --read`):
 * streamed in chunks, so a large file is never held whole; with a BPF filter, through libpcap
 * (filtered-file.ts). Resolves with the counters.
 */
import { createReadStream } from 'node:fs';
import { CaptureFileReader } from './capture-file.js';
import { FlowTracker, type FlowCounters } from './flow-tracker.js';
import type { Observation } from './observation.js';
import { readFiltered } from './filtered-file.js';

export async function readCaptureFile(path: string, onObservation: (o: Observation) => void, filter?: string): Promise<FlowCounters> {
  const tracker = new FlowTracker({ onObservation });
  if (filter) {
    await readFiltered(path, filter, (f, type, ts) => tracker.push(f, type, ts));
    tracker.close();
    return tracker.counters;
  }
  const reader = new CaptureFileReader();
  let lastTs = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    for (const f of reader.push(chunk as Buffer)) {
      tracker.push(f.frame, f.linkType, f.ts);
      // Idle streams end on the capture's own clock.
      if (f.ts - lastTs > 10_000) {
        tracker.evictIdle(f.ts);
        lastTs = f.ts;
      }
    }
  }
  reader.end();
  tracker.close();
  return tracker.counters;
}
