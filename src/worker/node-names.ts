/** The rule every worker node's name follows (templates that make names live in multi/node-name.ts). */

/** What a node name may be: `name@host`, printable, no spaces, at most 200 characters. */
export const NODE_NAME_PATTERN = /^[^\s@\u0000-\u001f\u007f]{1,100}@[^\s@\u0000-\u001f\u007f]{1,99}$/;

/** Why `name` cannot be a node name, or undefined if it can. */
export function nodeNameProblem(name: string): string | undefined {
  if (NODE_NAME_PATTERN.test(name)) return undefined;
  return `node name ${JSON.stringify(name)} must be name@host: printable, no spaces, one @, at most 200 characters (e.g. w1@%h)`;
}
