/** The worker nodes `npm start` runs for the flagship app: one per stage, each with its queue. */
export interface NodeSpec {
  /** Short name; the node is `<name>@<host>`. */
  name: string;
  queues: string[];
  concurrency: number;
}

export const flagshipNodes: readonly NodeSpec[] = [
  { name: 'capture', queues: ['q_pcap'], concurrency: 1 },
  { name: 'analyze', queues: ['q_analyze'], concurrency: 2 },
  { name: 'download', queues: ['q_download'], concurrency: 4 },
  { name: 'schedule', queues: ['q_schedule'], concurrency: 1 },
];
