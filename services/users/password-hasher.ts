// Password hashing: argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane). The
// parameters are fixed in code, not configuration: lowering them is a security decision that
// belongs in review. Hashes carry their parameters (PHC string), so raising them later only
// means new hashes use the new ones; `needsRehash` tells the login flow to upgrade old hashes.
import { randomBytes } from "node:crypto";
import { hash, parseOptions, verify, type Algorithm } from "@node-rs/argon2";

// The package declares Algorithm as a const enum, which this build (verbatimModuleSyntax)
// cannot inline; 2 is its Argon2id.
const ARGON2ID = 2 as Algorithm.Argon2id;

export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed stored hash. */
  verify(storedHash: string, password: string): Promise<boolean>;
  /**
   * Costs as much as verify() and always fails: used when the email is unknown, so that the
   * response time does not tell whether the account exists.
   */
  verifyNobody(password: string): Promise<false>;
  needsRehash(storedHash: string): boolean;
}

export function createPasswordHasher(): PasswordHasher {
  // A hash of a random secret nobody knows, started at once so that even the first unknown-email
  // login costs no more than the others.
  const dummy = hash(randomBytes(32).toString("base64url"), ARGON2_OPTIONS);
  dummy.catch(() => undefined); // a failure surfaces in verifyNobody, not as an unhandled rejection
  const self: PasswordHasher = {
    hash: (password) => hash(password, ARGON2_OPTIONS),
    async verify(storedHash, password) {
      try {
        return await verify(storedHash, password);
      } catch {
        return false;
      }
    },
    async verifyNobody(password) {
      await self.verify(await dummy, password);
      return false;
    },
    needsRehash(storedHash) {
      try {
        const o = parseOptions(storedHash);
        return o.algorithm !== ARGON2_OPTIONS.algorithm || o.memoryCost < ARGON2_OPTIONS.memoryCost || o.timeCost < ARGON2_OPTIONS.timeCost;
      } catch {
        return true;
      }
    },
  };
  return self;
}
