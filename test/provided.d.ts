import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the private redis-server started by test/global-setup.ts. */
    redisUrl: string;
  }
}
