/** Options are checked by name: a misspelt or foreign one is an error saying what to write, not ignored. */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/core/app.js';
import { thrown } from '../../helpers/thrown.js';

const app = createApp({ broker: 'redis://127.0.0.1:1/0' }); // never connects: every check comes first
const add = app.task('add', (a: number, b: number) => a + b);

describe('unknown options', () => {
  it("a call's: BullMQ's delay and attempts, and typos, with what to write instead (exit 64)", async () => {
    await expect(add.applyAsync([1, 2], {}, { delay: 5000 } as never)).rejects.toMatchObject({ code: 'TASKQ_OPTION_INVALID', exitCode: 64, message: expect.stringContaining('unknown option "delay"; did you mean countdown (seconds)?') });
    await expect(add.applyAsync([1, 2], {}, { attempts: 3 } as never)).rejects.toMatchObject({ message: expect.stringContaining('did you mean retries?') });
    await expect(add.applyAsync([1, 2], {}, { countdwn: 3 } as never)).rejects.toMatchObject({ message: expect.stringContaining('did you mean countdown?') });
    await expect(app.send('add', [1, 2], {}, { prority: 'high' } as never)).rejects.toMatchObject({ message: expect.stringContaining('did you mean priority?') });
    expect(thrown(() => add.s(1, 2).set({ linkErr: [] } as never))).toMatchObject({ message: expect.stringContaining('did you mean linkError?') });
  });

  it("a task's: retry, timeLimit, autoRetryFor", () => {
    expect(thrown(() => app.task('b', () => 1, { retry: 5 } as never))).toMatchObject({ code: 'TASKQ_OPTION_INVALID', message: expect.stringContaining('app.task("b"): unknown option "retry"; did you mean retries?') });
    expect(thrown(() => app.task('c', () => 1, { timeLimit: 5 } as never))).toMatchObject({ message: expect.stringContaining('did you mean timeLimitMs (milliseconds)?') });
    expect(thrown(() => app.task('d', () => 1, { autoRetryFor: [Error] } as never))).toMatchObject({ message: expect.stringContaining('did you mean autoretryFor?') });
  });

  it("an app's: a config error (78) naming the option", () => {
    expect(thrown(() => createApp({ brokr: 'redis://x' } as never))).toMatchObject({ code: 'TASKQ_CONFIG_INVALID', exitCode: 78, message: expect.stringContaining('createApp: unknown option "brokr"; did you mean broker?') });
  });

  it('options set to undefined are no options (spread objects carry them)', async () => {
    expect(() => app.task('e', () => 1, { queue: undefined, nonsense: undefined } as never)).not.toThrow();
  });
});
