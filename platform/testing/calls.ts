// Calling a service in tests: call options for a signed-in caller, and the typed error a call
// that must fail failed with.
import { ShopError } from "../errors.js";
import type { CallOptions } from "../grpc/index.js";

/** Call options carrying `token` as the bearer, optionally with a deadline. */
export const as = (token: string, timeoutMs?: number): CallOptions => ({
  metadata: { authorization: `Bearer ${token}` },
  ...(timeoutMs ? { timeoutMs } : {}),
});

/** The rejection of `p`, failing the test if it resolves or fails with anything but a ShopError. */
export async function rejectionOf(p: Promise<unknown>): Promise<ShopError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ShopError) return err;
    throw new Error(`expected a ShopError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected the call to fail, but it succeeded");
}
