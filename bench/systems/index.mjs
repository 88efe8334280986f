/** The systems under test, each a module with producer(redis) and worker(redis, options). */
export const SYSTEMS = {
  taskq: { label: 'taskq', module: './taskq.mjs' },
  bee: { label: 'bee-queue', module: './bee-queue.mjs' },
  bullmq: { label: 'BullMQ', module: './bullmq.mjs' },
};

export async function loadSystem(key) {
  const spec = SYSTEMS[key];
  if (!spec) throw new Error(`unknown system ${JSON.stringify(key)}; known: ${Object.keys(SYSTEMS).join(', ')}`);
  return { key, label: spec.label, ...(await import(spec.module)) };
}
