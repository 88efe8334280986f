import { describe, expect, it } from 'vitest';
import { TaskqError } from '../../../src/errors.js';
import { findUnserializable, toJson } from '../../../src/core/serialize.js';
import { thrown } from '../../helpers/thrown.js';

describe('findUnserializable: refused values, with their path', () => {
  const cases: Array<[string, unknown[], string]> = [
    ['a Map', [1, { x: new Map([['a', 1]]) }], 'args[1].x is a Map (send Object.fromEntries(map))'],
    ['a Set', [new Set([1])], 'args[0] is a Set (send [...set])'],
    ['a BigInt', [{ n: 10n }], 'args[0].n is a BigInt (send it as a string)'],
    ['a function', [{ cb: () => 1 }], 'args[0].cb is a function'],
    ['a symbol', [Symbol('s')], 'args[0] is a symbol'],
    ['NaN', [0, NaN], 'args[1] is NaN (not representable in JSON)'],
    ['Infinity', [{ a: [Infinity] }], 'args[0].a[0] is Infinity (not representable in JSON)'],
    ['-Infinity', [-Infinity], 'args[0] is -Infinity (not representable in JSON)'],
    ['undefined in an array', [[1, undefined]], 'args[0][1] is undefined (JSON would turn it into null)'],
    ['a hole in an array', [[, 2]], 'args[0][0] is undefined (JSON would turn it into null)'],
    ['a typed array', [{ pixels: new Uint8Array(4) }], 'args[0].pixels is a binary buffer (send base64 text)'],
    ['a Float64Array', [new Float64Array(2)], 'args[0] is a binary buffer (send base64 text)'],
    ['a Buffer (despite its toJSON)', [Buffer.from('hi')], 'args[0] is a binary buffer (send base64 text)'],
    ['a Promise', [Promise.resolve(1)], 'args[0] is a Promise (await it first)'],
    ['a WeakMap', [new WeakMap()], 'args[0] is a WeakMap/WeakSet'],
    ['a WeakSet', [new WeakSet()], 'args[0] is a WeakMap/WeakSet'],
  ];
  it.each(cases)('%s', (_what, args, expected) => {
    expect(findUnserializable(args, 'args')).toBe(expected);
  });

  it('refuses values nested deeper than 100 levels, with a short path (a 10,000-deep one too)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const problem = findUnserializable([deep], 'args');
    expect(problem).toMatch(/^args\[0\]\[0\].*\[0\] is nested deeper than 100 levels \(flatten it\)$/);
    expect(problem!.length).toBeLessThan(200);
    let ok: unknown = 1;
    for (let i = 0; i < 99; i++) ok = [ok];
    expect(findUnserializable(ok, 'args')).toBeUndefined();
  });

  it('reports the first problem in order', () => {
    expect(findUnserializable([{ a: 1, b: NaN, c: new Map() }], 'args')).toBe('args[0].b is NaN (not representable in JSON)');
  });

  it('a top-level value is named by the path alone', () => {
    expect(findUnserializable(new Map(), 'result')).toBe('result is a Map (send Object.fromEntries(map))');
  });

  it('finds circular references', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(findUnserializable([a], 'args')).toBe('args[0].self is a circular reference');
    const list: unknown[] = [1];
    list.push({ back: list });
    expect(findUnserializable(list, 'args')).toBe('args[1].back is a circular reference');
  });

  it('refuses an ArrayBuffer and a DataView, which JSON turns into {}', () => {
    expect(JSON.stringify([new ArrayBuffer(4), new DataView(new ArrayBuffer(4))])).toBe('[{},{}]');
    expect(findUnserializable([new ArrayBuffer(4)], 'args')).toEqual(expect.stringMatching(/^args\[0\] is /));
    expect(findUnserializable([new DataView(new ArrayBuffer(4))], 'args')).toEqual(expect.stringMatching(/^args\[0\] is /));
  });
});

describe('findUnserializable: accepted values', () => {
  it('accepts plain nested values and Dates', () => {
    const value = [1, 'two', true, null, { a: [1, { b: 'c' }], d: new Date(0), e: -0 }, [], {}];
    expect(findUnserializable(value, 'args')).toBeUndefined();
  });

  it('accepts the same object twice (shared, not circular)', () => {
    const shared = { x: 1 };
    expect(findUnserializable([shared, shared, { again: shared }], 'args')).toBeUndefined();
  });

  it('accepts objects with toJSON without looking inside', () => {
    const custom = { toJSON: () => 'custom', inner: new Map() };
    expect(findUnserializable([custom], 'args')).toBeUndefined();
  });

  it('accepts undefined object properties (JSON drops them, as in any JSON API)', () => {
    expect(findUnserializable([{ a: undefined }], 'args')).toBeUndefined();
    expect(findUnserializable(undefined, 'result')).toBeUndefined();
  });
});

describe('toJson', () => {
  it('serialises accepted values; undefined becomes null', () => {
    expect(toJson([1, { d: new Date(0) }], 'args', 'TASKQ_ARGS_UNSERIALIZABLE', 'tasks.add')).toBe(
      '[1,{"d":"1970-01-01T00:00:00.000Z"}]',
    );
    expect(toJson(undefined, 'result', 'TASKQ_RESULT_UNSERIALIZABLE', 'tasks.add')).toBe('null');
  });

  it('throws the given code with where, path and reason in the message', () => {
    const err = thrown(() => toJson([1, { x: new Map() }], 'args', 'TASKQ_ARGS_UNSERIALIZABLE', 'tasks.add.delay()'));
    expect(err).toBeInstanceOf(TaskqError);
    const e = err as TaskqError;
    expect(e.code).toBe('TASKQ_ARGS_UNSERIALIZABLE');
    expect(e.exitCode).toBe(65);
    expect(e.message).toBe(
      'tasks.add.delay(): args[1].x is a Map (send Object.fromEntries(map)); taskq sends JSON, so use plain values.',
    );
  });

  it('refuses a BigInt instead of letting JSON.stringify throw a TypeError', () => {
    const e = thrown(() => toJson({ n: 1n }, 'result', 'TASKQ_RESULT_UNSERIALIZABLE', 'task t'));
    expect((e as TaskqError).code).toBe('TASKQ_RESULT_UNSERIALIZABLE');
    expect((e as TaskqError).message).toContain('result.n is a BigInt');
  });
});
