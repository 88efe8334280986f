import { describe, expect, it } from 'vitest';
import { FLAGSHIP_SCHEDULE, PENDING_ENTRIES } from '../../../src/beat/flagship-schedule.js';
import { compileEntry } from '../../../src/beat/schedule.js';
import { app } from '../../../src/app.js';

describe("the flagship's beat schedule", () => {
  it('schedules only entries whose task the flagship app registers, on q_schedule', () => {
    for (const [name, spec] of Object.entries(FLAGSHIP_SCHEDULE)) {
      expect(() => compileEntry(name, spec, app.tasks)).not.toThrow();
      expect(app.router.route(spec.task, app.tasks.get(spec.task)?.queue)).toBe('q_schedule');
    }
    expect(app.beatSchedule).toEqual(FLAGSHIP_SCHEDULE);
  });

  it('keeps the entries whose task has not landed apart: valid, named, and not yet registered', () => {
    for (const [name, { comesWith, ...spec }] of Object.entries(PENDING_ENTRIES)) {
      expect(comesWith).toMatch(/^download\/cache: /);
      expect(() => compileEntry(name, spec)).not.toThrow();
      // Once its task exists, the entry belongs in FLAGSHIP_SCHEDULE: this fails to say so.
      expect(app.tasks.has(spec.task), `${spec.task} is registered now: move ${name} into FLAGSHIP_SCHEDULE`).toBe(false);
    }
  });
});
