// The JWT verifier every process uses: keys fetched from the users service's GetJwks over the
// platform client (so the fetch has a deadline, retries and a breaker), cached and refreshed on
// an unknown kid by jwt-verifier.ts. The gateway and every service build theirs here; the
// gateway also republishes the cached keys at /.well-known/jwks.json.
import { UsersService } from "../../gen/shop/users/v1/users_pb.js";
import { createClient } from "../grpc/client.js";
import { createJwtVerifier, type JwksSource, type JwtVerifier } from "./jwt-verifier.js";

export interface UsersJwksOptions {
  /** The users service's gRPC address (`USERS_ADDR`). */
  readonly address: string;
  readonly issuer: string;
  readonly audience: string;
  readonly timeoutMs?: number;
}

export interface UsersJwksVerifier extends JwtVerifier, JwksSource {
  close(): void;
}

export function createUsersJwksVerifier(opts: UsersJwksOptions): UsersJwksVerifier {
  const users = createClient(UsersService, { name: "users", address: opts.address, timeoutMs: opts.timeoutMs ?? 2000 });
  const verifier = createJwtVerifier({
    issuer: opts.issuer,
    audience: opts.audience,
    fetchJwks: async () => (await users.getJwks({})).keys.map((k) => ({ kty: k.kty, crv: k.crv, x: k.x, y: k.y, kid: k.kid, alg: k.alg, use: k.use })),
  });
  return { verify: (token) => verifier.verify(token), publicKeys: (maxAgeMs) => verifier.publicKeys(maxAgeMs), close: () => users.close() };
}
