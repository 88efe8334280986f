import { describe, expect, it } from 'vitest';
import { asMember, chordAhead, type FrozenNode, type FrozenSig } from '../../../../src/core/canvas/frozen.js';

let n = 0;
const newId = (): string => `gen-${++n}`;
const sig = (task: string, extra: Partial<FrozenSig> = {}): FrozenSig => ({ task, id: `${task}-id`, queue: 'q', args: [], ...extra });
const ref = { id: 'outer', i: 2 };

describe('chordAhead: the chord a node’s end counts for', () => {
  it('is a member’s own membership', () => {
    expect(chordAhead(asMember(sig('a'), ref, newId))).toEqual(ref);
    expect(chordAhead(sig('a'))).toBeUndefined();
  });

  it('is found at the end of a chain in a header, from its first step', () => {
    const member = asMember(sig('a', { chain: [sig('b'), sig('c')] }), ref, newId) as FrozenSig;
    expect(member.chord).toBeUndefined();
    expect(chordAhead(member)).toEqual(ref);
  });

  it('is found through a chain ending in a group or a chord (their body carries it)', () => {
    const group: FrozenNode = { group: [sig('x'), sig('y')], id: 'g1' };
    expect(chordAhead(asMember(sig('a', { chain: [group] }), ref, newId))).toEqual(ref);
    const chord: FrozenNode = { chord: [sig('x')], body: sig('b'), id: 'c1' };
    expect(chordAhead(asMember(sig('a', { chain: [chord] }), ref, newId))).toEqual(ref);
  });

  it('is not a group member’s own (a group is never the end of a member)', () => {
    expect(chordAhead({ group: [asMember(sig('a'), ref, newId)], id: 'g2' })).toBeUndefined();
  });
});
