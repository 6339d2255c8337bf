// Waiting for a condition in tests, instead of sleeping a fixed time and hoping.
//
// Polls `check` until it returns something other than false/undefined, and returns that value,
// so a test can wait for and capture a result in one step. On timeout the error names what was
// awaited and the last value seen, which is usually the whole diagnosis.

export interface WaitForOptions {
  /** Default 10s: well under the mocha timeout, so the message below is what a failure shows. */
  timeoutMs?: number;
  intervalMs?: number;
}

export async function waitFor<T>(
  what: string,
  check: () => T | false | undefined | Promise<T | false | undefined>,
  opts: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const interval = opts.intervalMs ?? 20;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out waiting for ${what} (last: ${describe(last)})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

function describe(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
