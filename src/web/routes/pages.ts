/** The page and its assets (built by esbuild from ui/ into dist/ui/), served from memory with a content hash ETag. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const ASSETS: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/app.css': 'app.css' };
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export function pageRoutes(web: FastifyInstance, dir: URL): void {
  for (const [path, file] of Object.entries(ASSETS)) {
    let body: Buffer;
    try {
      body = readFileSync(new URL(file, dir));
    } catch {
      body = Buffer.from(`the UI's ${file} is not built: run npm run build\n`);
    }
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 20)}"`;
    const type = TYPES[file.split('.').pop() as string] as string;
    web.get(path, async (req, reply) => {
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply
        .header('content-type', type)
        .header('etag', etag)
        .header('cache-control', 'no-cache')
        // Only this origin's scripts and styles; nothing from a CDN, no framing.
        .header('content-security-policy', "default-src 'self'; img-src 'self' data: http://127.0.0.1:* http://localhost:*; media-src 'self' http://127.0.0.1:* http://localhost:*; frame-ancestors 'none'")
        .header('x-content-type-options', 'nosniff')
        .send(body);
    });
  }
}
