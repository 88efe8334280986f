/**
 * `-A <module>`: loads the app a worker or command uses. The module is a path (.js/.mjs, or a .ts
 * file under src/ that the build compiled to dist/) exporting the app as `default` or `app`, or, as
 * Celery's `-A proj:app`, `path:name` naming the export.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from './app.js';
import { ExitCode, TaskqError } from '../errors.js';

function invalid(message: string, cause?: unknown): TaskqError {
  return new TaskqError('TASKQ_APP_MODULE_INVALID', message, { exitCode: ExitCode.config, cause });
}

/** `dist/app.js:app` → the file and the export's name (none: `default`, then `app`). */
export function splitAppSpec(spec: string): { file: string; attr: string | undefined } {
  const m = /^(.*\.[cm]?[jt]s):([A-Za-z_$][\w$]*)$/.exec(spec);
  return m ? { file: m[1] as string, attr: m[2] } : { file: spec, attr: undefined };
}

/** The JavaScript file to import for `spec` (a .ts path maps to its compiled twin in dist/), with `:name` kept. */
export function resolveAppPath(spec: string, cwd = process.cwd()): string {
  const { file, attr } = splitAppSpec(spec);
  const resolved = resolveFile(file, spec, cwd);
  return attr ? `${resolved}:${attr}` : resolved;
}

function resolveFile(file: string, spec: string, cwd: string): string {
  const path = resolve(cwd, file);
  if (path.endsWith('.ts')) {
    // The project's own src/ is the last one in the path (/home/me/src/proj/src/app.ts).
    const at = path.lastIndexOf(`${sep}src${sep}`);
    if (at < 0) throw invalid(`-A ${spec}: a .ts app must live under src/ so the build compiles it to dist/; or pass the compiled .js file`);
    const compiled = `${path.slice(0, at)}${sep}dist${sep}${path.slice(at + 5).replace(/\.ts$/, '.js')}`;
    if (!existsSync(compiled)) {
      throw invalid(`-A ${spec}: its compiled form ${compiled} does not exist. Run \`npm run build\` first.`);
    }
    return compiled;
  }
  if (!existsSync(path)) throw invalid(`-A ${spec}: no such file (${path})`);
  return path;
}

function isApp(value: unknown): value is App {
  // Duck-typed too: the module may import another copy of taskq than the CLI's.
  return value instanceof App || (!!value && typeof value === 'object' && 'tasks' in value && 'config' in value && 'send' in value);
}

export async function loadApp(spec: string, cwd = process.cwd()): Promise<App> {
  const { file, attr } = splitAppSpec(resolveAppPath(spec, cwd));
  const path = file;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (cause) {
    // The module ran and taskq itself refused something (a bad broker URL, a bad TASKQ_* variable):
    // that error's own code and exit status say more than "the module is invalid".
    const own = cause as Partial<TaskqError> | undefined;
    if (typeof own?.code === 'string' && own.code.startsWith('TASKQ_') && typeof own.exitCode === 'number') {
      throw new TaskqError(own.code, `${own.message} (while loading the app -A ${spec})`, { exitCode: own.exitCode, cause });
    }
    const at = cause instanceof SyntaxError ? syntaxErrorAt(path) : undefined;
    throw invalid(`-A ${spec}: importing ${path} failed: ${(cause as Error).message}${at ? ` at ${at}` : ''}`, cause);
  }
  const app = attr ? mod[attr] : (mod.default ?? mod.app);
  if (!isApp(app)) {
    if (attr) throw invalid(`-A ${spec}: the module's export ${JSON.stringify(attr)} is ${attr in mod ? 'not an app' : 'missing'} (exports: ${Object.keys(mod).sort().join(', ') || 'none'})`);
    throw invalid(`-A ${spec}: the module exports no app; export it as \`export default app\` or \`export const app\` (createApp(...))`);
  }
  return app;
}

/**
 * Where a module's syntax error is (`file:line`, and the line): Node's ESM loader reports only the
 * message, so `node --check` is asked (the error path only). Undefined if it cannot say.
 */
function syntaxErrorAt(path: string): string | undefined {
  const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const [where, code] = (check.stderr ?? '').split('\n');
  if (!where || !/:\d+$/.test(where)) return undefined;
  return code?.trim() ? `${where} (${code.trim()})` : where;
}
