// Who may call what at the edge. The rule itself (levels from the contract's
// `(shop.common.v1.access)` option) lives in platform/grpc/access.ts and is applied again by
// every service; here it is applied first, so a bad request costs no backend call, and so
// INTERNAL methods are not routed at all.
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { bearerToken, type JwtVerifier } from "../platform/auth/jwt-verifier.js";
import { isShopError } from "../platform/errors.js";
import { Access, ADMIN_ROLE, accessDenial, accessOf, isClientFacing, type Caller } from "../platform/grpc/index.js";
import { toConnectError } from "./forward.js";

export { Access, ADMIN_ROLE, accessOf, type Caller };

/** PUBLIC, USER and ADMIN methods are served; INTERNAL and unspecified (deny-all) ones are not routed at all. */
export function isExposed(method: DescMethod): boolean {
  return isClientFacing(accessOf(method));
}

/**
 * The caller named by an `authorization` header: undefined without one (anonymous), a
 * ConnectError UNAUTHENTICATED for anything that does not verify, never a silent anonymous.
 */
export async function authenticate(header: string | undefined, verifier: JwtVerifier): Promise<Caller | undefined> {
  if (header === undefined) return undefined;
  const token = bearerToken(header);
  if (!token) throw new ConnectError("authorization must be a Bearer token", Code.Unauthenticated);
  try {
    const verified = await verifier.verify(token);
    return { subject: verified.subject, roles: verified.roles };
  } catch (err) {
    // The verifier's messages are written for callers ("invalid token", "token expired",
    // "cannot verify tokens right now"); its causes are not passed on.
    if (isShopError(err)) throw new ConnectError(err.message, err.code as number);
    throw new ConnectError("cannot verify tokens right now", Code.Unavailable);
  }
}

/** The error for `caller` calling a method of `level`, or undefined when allowed. */
export function denial(level: Access, caller: Caller | undefined): ConnectError | undefined {
  if (!isClientFacing(level)) return new ConnectError("not found", Code.NotFound);
  const denied = accessDenial(level, caller);
  return denied ? toConnectError(denied, "gateway") : undefined;
}
