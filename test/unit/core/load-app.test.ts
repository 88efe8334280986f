import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadApp, resolveAppPath, splitAppSpec } from '../../../src/core/load-app.js';

describe('-A module resolution', () => {
  const dir = mkdtempSync(`${tmpdir()}/taskq-loadapp-`);
  mkdirSync(`${dir}/src/tasks`, { recursive: true });
  mkdirSync(`${dir}/dist/tasks`, { recursive: true });
  writeFileSync(`${dir}/src/tasks/app.ts`, '');
  writeFileSync(`${dir}/dist/tasks/app.js`, 'export default { tasks: new Map(), config: {}, send() {} };\n');
  writeFileSync(`${dir}/src/only-source.ts`, '');
  writeFileSync(`${dir}/plain.mjs`, 'export const notAnApp = 1;\n');
  writeFileSync(`${dir}/broken.mjs`, 'import "./nowhere.mjs";\n');

  it('maps a .ts file under src/ to its compiled twin in dist/', () => {
    expect(resolveAppPath('src/tasks/app.ts', dir)).toBe(`${dir}/dist/tasks/app.js`);
  });

  it('says to build when the compiled twin is missing', () => {
    expect(() => resolveAppPath('src/only-source.ts', dir)).toThrow(/its compiled form .*dist\/only-source.js does not exist. Run `npm run build` first./);
  });

  it('refuses a .ts file outside src/ and a missing file', () => {
    writeFileSync(`${dir}/loose.ts`, '');
    expect(() => resolveAppPath('loose.ts', dir)).toThrow(/must live under src\//);
    expect(() => resolveAppPath('nope.js', dir)).toThrow(/-A nope.js: no such file/);
  });

  it('loads the default export; refuses a module without an app or one that fails to import', async () => {
    await expect(loadApp('src/tasks/app.ts', dir)).resolves.toMatchObject({ config: {} });
    await expect(loadApp('plain.mjs', dir)).rejects.toMatchObject({ code: 'TASKQ_APP_MODULE_INVALID', exitCode: 78 });
    await expect(loadApp('broken.mjs', dir)).rejects.toThrow(/importing .*broken.mjs failed/);
  });
});

describe('-A with src/ higher up in the path', () => {
  it('maps the project src/ (the last one), not a folder named src above the project', () => {
    const top = mkdtempSync(`${tmpdir()}/taskq-loadapp2-`);
    const project = `${top}/src/proj`;
    mkdirSync(`${project}/src`, { recursive: true });
    mkdirSync(`${project}/dist`, { recursive: true });
    writeFileSync(`${project}/dist/app.js`, '');
    expect(resolveAppPath(`${project}/src/app.ts`)).toBe(`${project}/dist/app.js`);
  });

  it("takes Celery's -A module:name: the named export, kept through resolution (pool children load it too)", async () => {
    const dir = mkdtempSync(`${tmpdir()}/taskq-loadapp-`);
    writeFileSync(`${dir}/named.mjs`, 'export const other = 1;\nexport const mine = { tasks: new Map(), config: {}, send() {} };\n');
    expect(splitAppSpec('dist/app.js:app')).toEqual({ file: 'dist/app.js', attr: 'app' });
    expect(splitAppSpec('dist/app.js')).toEqual({ file: 'dist/app.js', attr: undefined });
    expect(resolveAppPath('named.mjs:mine', dir)).toBe(`${dir}/named.mjs:mine`);
    expect((await loadApp('named.mjs:mine', dir)).tasks).toBeInstanceOf(Map);
    await expect(loadApp('named.mjs:other', dir)).rejects.toThrow(/the module's export "other" is not an app \(exports: mine, other\)/);
    await expect(loadApp('named.mjs:none', dir)).rejects.toThrow(/export "none" is missing/);
  });
});
