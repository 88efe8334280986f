/**
 * `taskq cache ls|rm|evict|serve`: the flagship's video cache. `ls` lists entries (most recently served
 * first), `rm` removes entries by id or original URL, `evict` applies the size limit now (the beat does
 * every minute), `serve` runs the cache server (Range, ETag, Content-Type) on loopback.
 */
import { Command } from 'commander';
import { CacheIndex } from '../../download/cache-index.js';
import { listenCacheServer } from '../../download/cache-server.js';
import { cacheSettings, parseSize } from '../../download/cache-settings.js';
import { evict, removeEntry } from '../../download/eviction.js';
import { cacheDirs } from '../../download/store.js';
import { ExitCode, OptionError } from '../../errors.js';
import { appBrokerOptions, withApp, type BrokerOptions, type CliIo } from '../context.js';
import { positiveInt, tcpPort } from '../parse.js';
import { runService } from '../service.js';
import { json } from '../presenter.js';
import { bytesText, cacheListText } from '../presenter-cache.js';

async function withIndex<T>(o: BrokerOptions, io: CliIo, fn: (index: CacheIndex, store: string) => Promise<T>): Promise<T> {
  const settings = cacheSettings(io.env, io.cwd);
  return withApp(o, io, async (app) => fn(new CacheIndex(await app.client(), app.keys.prefix), cacheDirs(settings.dir).store));
}

function size(raw: string): number {
  const bytes = parseSize(raw);
  if (bytes === undefined) throw new OptionError(`--max-bytes ${JSON.stringify(raw)}: expected a size such as 500M or 10G`);
  return bytes;
}

/** `cache ls`: the entries, most recently served first. */
function lsCommand(io: CliIo, exit: (code: number) => void): Command {
  return appBrokerOptions(new Command('ls'))
    .description('cached entries, most recently served first: id, kind, size, hits, last access, sha256, url')
    .option('--json', 'one JSON object per entry, with its path')
    .option('--limit <n>', 'at most this many (default 1000)', positiveInt)
    .action(async (o: BrokerOptions & { json?: boolean; limit?: number }) => {
      await withIndex(o, io, async (index) => {
        const entries = await index.list({ limit: o.limit ?? 1000 });
        if (o.json) io.stdout(entries.map((e) => json(e)).join(''));
        else io.stdout(cacheListText(entries, { count: await index.count(), bytes: await index.totalBytes(), maxBytes: cacheSettings(io.env, io.cwd).maxBytes }));
        exit(ExitCode.ok);
      });
    });
}

/** `cache rm`: entries removed by id or original URL. */
function rmCommand(io: CliIo, exit: (code: number) => void): Command {
  return appBrokerOptions(new Command('rm'))
    .description('remove entries (index and file) by id or by original URL')
    .argument('<id-or-url...>')
    .action(async (keys: string[], o: BrokerOptions) => {
      await withIndex(o, io, async (index, store) => {
        let missing = 0;
        for (const key of keys) {
          const entry = /^[0-9a-f]{32}$/.test(key) ? await index.get(key) : await index.byUrl(key);
          if (entry && (await removeEntry(index, store, entry))) io.stdout(`removed ${entry.id} (${bytesText(entry.size)}, ${entry.url})\n`);
          else {
            missing++;
            io.stderr(`not cached: ${key} (\`taskq cache ls\` lists the ids and URLs)\n`);
          }
        }
        exit(missing ? ExitCode.failure : ExitCode.ok);
      });
    });
}

/** `cache evict`: the size limit applied now. */
function evictCommand(io: CliIo, exit: (code: number) => void): Command {
  return appBrokerOptions(new Command('evict'))
    .description('remove the least recently served entries until the cache is within its limit')
    .option('--max-bytes <size>', 'the limit to apply (default TASKQ_CACHE_MAX_BYTES), e.g. 500M', size)
    .option('--json', 'print JSON')
    .action(async (o: BrokerOptions & { maxBytes?: number; json?: boolean }) => {
      await withIndex(o, io, async (index, store) => {
        const max = o.maxBytes ?? cacheSettings(io.env, io.cwd).maxBytes;
        const r = await evict(index, store, max);
        io.stdout(o.json ? json(r) : `evicted ${r.removed.length} entries (${bytesText(r.freed)}); the cache holds ${bytesText(r.bytes)} of ${bytesText(max)}\n`);
        exit(ExitCode.ok);
      });
    });
}

/** `cache serve`: the cache server, until stopped. */
function serveCommand(io: CliIo, exit: (code: number) => void): Command {
  return appBrokerOptions(new Command('serve'))
    .description('serve cached copies over HTTP: /c/<id>, /u?url=<url> (Range, ETag, HEAD)')
    .option('--host <addr>', 'address to bind (default TASKQ_CACHE_HOST or 127.0.0.1)')
    .option('--port <n>', 'port (default TASKQ_CACHE_PORT or 8390; 0: any free port)', tcpPort)
    .action(async (o: BrokerOptions & { host?: string; port?: number }) => {
      const settings = cacheSettings(io.env, io.cwd);
      await withIndex(o, io, async (index, store) => {
        const server = await listenCacheServer({ index, storeDir: store, host: o.host ?? settings.host, port: o.port ?? settings.port });
        await runService(io, 'cache', server, `cache server on ${server.url} (GET /c/<id>, /u?url=<url>), serving ${store}`);
        exit(ExitCode.ok);
      });
    });
}

export function cacheCommand(io: CliIo, exit: (code: number) => void): Command {
  const cmd = new Command('cache').description('the video cache: list, remove, evict, serve (TASKQ_CACHE_DIR, TASKQ_CACHE_MAX_BYTES)');
  cmd.addCommand(lsCommand(io, exit));
  cmd.addCommand(rmCommand(io, exit));
  cmd.addCommand(evictCommand(io, exit));
  cmd.addCommand(serveCommand(io, exit));
  return cmd;
}
