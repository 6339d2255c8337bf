// The gRPC server's authenticate hook for bearer tokens: no header means an anonymous caller
// (each method's access rule decides whether that is allowed); a header that does not verify
// is UNAUTHENTICATED, never silently anonymous.
import type { Metadata } from "@grpc/grpc-js";
import type { Authenticate, Caller } from "../grpc/call-context.js";
import { unauthenticated } from "../errors.js";
import { bearerToken, type JwtVerifier } from "./jwt-verifier.js";

export function bearerAuthenticate(verifier: JwtVerifier): Authenticate {
  // Not async: an anonymous call (no header) is answered without a promise.
  return (metadata: Metadata): Caller | undefined | Promise<Caller> => {
    const raw = metadata.get("authorization")[0];
    if (raw === undefined) return undefined;
    const token = bearerToken(typeof raw === "string" ? raw : raw.toString("utf8"));
    if (!token) throw unauthenticated("authorization must be a Bearer token");
    return verifier.verify(token).then((verified) => ({ subject: verified.subject, roles: verified.roles, ...(verified.name ? { name: verified.name } : {}) }));
  };
}
