import { describe, expect, it } from 'vitest';
import { parseEntry } from '../../../src/events/event-types.js';

describe('parseEntry', () => {
  it('reads type, data and the time from the stream id', () => {
    expect(parseEntry('1700000000123-4', ['type', 'task-sent', 'data', '{"id":"j1","task":"tasks.add","args":[1]}'])).toEqual({
      streamId: '1700000000123-4',
      type: 'task-sent',
      time: 1_700_000_000_123,
      data: { id: 'j1', task: 'tasks.add', args: [1] },
    });
  });

  it('does not depend on field order', () => {
    expect(parseEntry('5-0', ['data', '{"node":"w1"}', 'type', 'worker-online'])).toMatchObject({
      type: 'worker-online',
      data: { node: 'w1' },
    });
  });

  it('keeps a malformed entry with what was there', () => {
    expect(parseEntry('7-1', ['data', 'not json'])).toEqual({ streamId: '7-1', type: 'unknown', time: 7, data: { raw: 'not json' } });
    expect(parseEntry('8-0', [])).toEqual({ streamId: '8-0', type: 'unknown', time: 8, data: {} });
    expect(parseEntry('9-0', ['type', 'task-sent', 'data'])).toEqual({ streamId: '9-0', type: 'task-sent', time: 9, data: {} });
  });

  it('ignores unknown fields and keeps unknown types', () => {
    expect(parseEntry('10-0', ['extra', 'x', 'type', 'custom-thing', 'data', '{}'])).toEqual({
      streamId: '10-0',
      type: 'custom-thing',
      time: 10,
      data: {},
    });
  });

  it('keeps data that is JSON but not an object as raw, so data is always an object', () => {
    for (const text of ['null', '5', '"text"', '[1,2]']) {
      expect(parseEntry('11-0', ['type', 'task-sent', 'data', text]).data).toEqual({ raw: text });
    }
  });
});
