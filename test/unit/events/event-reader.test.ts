import { describe, expect, it } from 'vitest';
import { cursorToId } from '../../../src/events/event-reader.js';

describe('cursorToId', () => {
  it('passes stream ids and the special ids through', () => {
    expect(cursorToId('1700000000000-3')).toBe('1700000000000-3');
    expect(cursorToId('$')).toBe('$');
    expect(cursorToId('0')).toBe('0');
  });

  it('turns a time in ms into the last possible id of the previous ms, so events at that ms are read', () => {
    expect(cursorToId(1_700_000_000_000)).toBe('1699999999999-18446744073709551615');
  });

  it('does the same for a Date', () => {
    expect(cursorToId(new Date(1_700_000_000_000))).toBe('1699999999999-18446744073709551615');
  });

  it('clamps times at or before the epoch to 0', () => {
    expect(cursorToId(0)).toBe('0-18446744073709551615');
    expect(cursorToId(new Date(0))).toBe('0-18446744073709551615');
    expect(cursorToId(-50)).toBe('0-18446744073709551615');
  });
});
