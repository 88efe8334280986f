/** Run-time beat entries: checked against the app's tasks when it registers any; else sent by name. */
import { describe, expect, it } from 'vitest';
import { BeatEntries } from '../../../src/beat/entries.js';
import { testApp } from '../../helpers/apps.js';

describe('beat entries added at run time', () => {
  it("an app with tasks refuses an entry for a task it lacks; one without (taskq ui without -A) takes any name, as Celery's beat", async () => {
    const withTasks = testApp();
    withTasks.task('tick', () => 1);
    await expect(new BeatEntries(withTasks).add('e1', { task: 'tock', every: '5s' })).rejects.toMatchObject({ message: expect.stringContaining('task "tock" is not registered in the app') });
    const byName = testApp();
    await new BeatEntries(byName).add('e2', { task: 'elsewhere.job', every: '5s' });
    expect((await new BeatEntries(byName).list()).map((e) => e.name)).toEqual(['e2']);
  });
});
