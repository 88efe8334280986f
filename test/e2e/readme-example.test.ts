/**
 * The README's first example, taken from README.md itself: its module runs in a worker process, its
 * "elsewhere" part in another process, and the value printed is 5.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import ts from 'typescript';
import { describe, expect, inject, it } from 'vitest';
import { testApp } from '../helpers/apps.js';
import { root, spawnTaskq } from '../helpers/processes.js';

function firstTsBlock(markdown: string): string {
  const m = /```ts\n([\s\S]*?)```/.exec(markdown);
  if (!m?.[1]) throw new Error('README.md has no ts code block');
  return m[1];
}

const toJs = (code: string): string =>
  ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;

describe('README example', () => {
  it('works as written: a worker process runs add, another process gets 5', async () => {
    const [moduleCode, elsewhere] = firstTsBlock(readFileSync(`${root}README.md`, 'utf8')).split('// elsewhere, another process:\n');
    expect(moduleCode).toContain("import { createApp } from 'taskq';");
    const dir = mkdtempSync(`${tmpdir()}/taskq-readme-`);
    mkdirSync(`${dir}/node_modules`);
    symlinkSync(root, `${dir}/node_modules/taskq`); // as if installed
    writeFileSync(`${dir}/tasks.mjs`, toJs(moduleCode as string));
    // The last line's value is what the README promises; print it.
    const lines = (elsewhere as string).trim().split('\n');
    lines[lines.length - 1] = `console.log(JSON.stringify(${(lines.at(-1) as string).replace(/;.*$/, '')}));`;
    writeFileSync(`${dir}/producer.mjs`, `import { add } from './tasks.mjs';\n${toJs(lines.join('\n'))}\nprocess.exit(0);\n`);

    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    const worker = await spawnTaskq(['worker', '-A', `${dir}/tasks.mjs`], { env });
    const { spawnSync } = await import('node:child_process');
    const producer = spawnSync(process.execPath, [`${dir}/producer.mjs`], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
    expect(producer.stderr).toBe('');
    expect(producer.stdout.trim()).toBe('5');
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
