/** Runs `fn` and returns what it threw; fails the test (naming what it returned) when it did not throw. */
export function thrown(fn: () => unknown): unknown {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    return err;
  }
  throw new Error(`expected a throw, but it returned ${JSON.stringify(returned)}`);
}
