// Who may call what, read from the contract's `option (shop.common.v1.access)` on each RPC.
// The one rule, applied twice: the gateway checks it at the edge (so a bad request costs no
// backend call and INTERNAL methods do not exist from outside), and every service's server
// pipeline checks it again (no trust by network position).
import { getOption, type DescMethod } from "@bufbuild/protobuf";
import { Access, access } from "../../gen/shop/common/v1/access_pb.js";
import { permissionDenied, unauthenticated, type ShopError } from "../errors.js";
import type { Caller } from "./call-context.js";

export { Access };

export const ADMIN_ROLE = "admin";

export function accessOf(method: DescMethod): Access {
  return getOption(method, access);
}

/** PUBLIC, USER and ADMIN methods are reachable by clients; INTERNAL and unspecified ones are not. */
export function isClientFacing(level: Access): boolean {
  return level === Access.PUBLIC || level === Access.USER || level === Access.ADMIN;
}

/**
 * The error for `caller` calling a method of `level`, or undefined when allowed. INTERNAL
 * methods pass here: inside the mesh, Istio's AuthorizationPolicy names the service accounts
 * allowed to call them, and the gateway never routes them. A method with no declared level is
 * refused (the contract tests forbid that, so it means a contract written in a hurry).
 */
export function accessDenial(level: Access, caller: Caller | undefined): ShopError | undefined {
  switch (level) {
    case Access.PUBLIC:
    case Access.INTERNAL:
      return undefined;
    case Access.USER:
      return caller ? undefined : unauthenticated("sign in required");
    case Access.ADMIN:
      if (!caller) return unauthenticated("sign in required");
      return caller.roles.includes(ADMIN_ROLE) ? undefined : permissionDenied(`requires role ${ADMIN_ROLE}`);
    default:
      return permissionDenied("method declares no access level");
  }
}
