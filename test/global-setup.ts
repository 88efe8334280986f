/** One private redis-server for the whole run; tests isolate themselves with a key prefix each. */
import type { TestProject } from 'vitest/node';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

let server: RedisServer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  server = await startRedis();
  await server.start();
  project.provide('redisUrl', server.url);
  return async () => {
    await server?.stop();
    server?.remove();
  };
}
