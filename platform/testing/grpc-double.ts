// Real gRPC test doubles of a service's peers, on 127.0.0.1 ports, served by the platform's own
// server (so callers go through real deadlines, retries, breakers and error mapping). A double
// answers the methods a test gives it, UNIMPLEMENTED for the rest, records the calls it
// answered, and can be told to fail the next calls with a code (UNAVAILABLE by default).
// `startUsersDouble` is the users service as every other service sees it: a JWKS and tokens
// signed with its key, so tests exercise the platform's real token verification.
import { randomUUID } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import { UsersService } from "../../gen/shop/users/v1/users_pb.js";
import { Code, ShopError } from "../errors.js";
import { createGrpcServer, type Authenticate, type ServiceImpl } from "../grpc/index.js";
import { createLogger } from "../logger.js";

const quietLog = createLogger({ service: "test-double", level: "error" });

export interface Call {
  readonly method: string;
  readonly request: unknown;
}

/** What every double offers: its address, its call log and fault injection. */
export interface Double {
  readonly address: string;
  readonly calls: Call[];
  /** Calls of one method, e.g. `authorizePayment`. */
  callsOf<R = Record<string, unknown>>(method: string): R[];
  /** The next `count` calls of `method` (all methods with "*") fail with `code`; Infinity until `heal`. */
  failNext(method: string, count: number, code?: Code): void;
  heal(): void;
  stop(): Promise<void>;
}

export async function serveDouble<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>, authenticate?: Authenticate): Promise<Double> {
  const calls: Call[] = [];
  const faults = new Map<string, { count: number; code: Code }>();
  const wrapped: Record<string, unknown> = {};
  for (const m of service.methods) {
    const fn = (impl as Record<string, ((req: unknown, ctx: unknown) => Promise<unknown>) | undefined>)[m.localName];
    wrapped[m.localName] = async (req: unknown, ctx: unknown) => {
      const fault = faults.get(m.localName) ?? faults.get("*");
      if (fault && fault.count > 0) {
        fault.count--;
        throw new ShopError(fault.code, `injected ${Code[fault.code]} in the ${service.name} double`);
      }
      calls.push({ method: m.localName, request: req });
      if (!fn) throw new ShopError(Code.UNIMPLEMENTED, "not in this test double");
      return fn(req, ctx);
    };
  }
  const server = createGrpcServer({ log: quietLog, reflection: false, ...(authenticate ? { authenticate } : {}) });
  server.add(service, wrapped as ServiceImpl<S>);
  const port = await server.listen("127.0.0.1:0");
  return {
    address: `127.0.0.1:${port}`,
    calls,
    callsOf: <R>(method: string) => calls.filter((c) => c.method === method).map((c) => c.request as R),
    failNext: (method, count, code = Code.UNAVAILABLE) => void faults.set(method, { count, code }),
    heal: () => faults.clear(),
    stop: () => server.shutdown(100),
  };
}

/** The issuer and audience a service under test is configured to accept. */
export interface TestAuth {
  readonly issuer: string;
  readonly audience: string;
}

export interface UsersDouble {
  readonly address: string;
  /** A signed access token for `userId`, as the users service would issue it. */
  tokenFor(userId: string, roles?: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

/** A users service that only serves GetJwks, with an ES256 key generated here. */
export async function startUsersDouble(auth: TestAuth): Promise<UsersDouble> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = randomUUID();
  const jwk = await exportJWK(publicKey);
  const d = await serveDouble(UsersService, {
    getJwks: async () => ({ keys: [{ kty: jwk.kty ?? "", crv: jwk.crv ?? "", x: jwk.x ?? "", y: jwk.y ?? "", kid, alg: "ES256", use: "sig" }] }),
  });
  return { address: d.address, tokenFor: (userId, roles = ["customer"]) => sign(auth, privateKey, kid, userId, roles), stop: () => d.stop() };
}

function sign(auth: TestAuth, key: CryptoKey, kid: string, userId: string, roles: readonly string[]): Promise<string> {
  return new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "ES256", kid })
    .setSubject(userId)
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key);
}
