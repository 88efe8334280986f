/** A gate a test task waits at until the test opens it (a running job held where the test wants it). */
export interface Gate {
  /** Resolves once opened. */
  passed: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const passed = new Promise<void>((resolve) => (open = resolve));
  return { passed, open };
}
