/** One private redis-server for the whole run; tests isolate themselves with a key prefix each. */
import type { TestProject } from 'vitest/node';
import { startRedis } from './helpers/redis-server.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startRedis();
  project.provide('redisUrl', server.url);
  return async () => {
    await server.stop();
    server.remove();
  };
}
