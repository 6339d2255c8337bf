// The argon2id hasher, in memory: OWASP parameters, verification, the dummy check for unknown
// emails, and the upgrade signal for weaker hashes.
import assert from "node:assert/strict";
import { hash } from "@node-rs/argon2";
import { ARGON2_OPTIONS, createPasswordHasher } from "../password-hasher.js";

describe("users password hasher", () => {
  const hasher = createPasswordHasher();

  it("hashes with argon2id at m=19456 KiB, t=2, p=1 and a fresh salt, and verifies", async () => {
    const a = await hasher.hash("correct horse battery staple");
    const b = await hasher.hash("correct horse battery staple");
    assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.notEqual(a, b, "salted");
    assert.equal(await hasher.verify(a, "correct horse battery staple"), true);
    assert.equal(await hasher.verify(a, "correct horse battery stapler"), false);
    assert.equal(await hasher.verify("not a hash", "anything"), false);
  });

  it("fails the dummy check whatever the password", async () => {
    assert.equal(await hasher.verifyNobody("correct horse battery staple"), false);
    assert.equal(await hasher.verifyNobody(""), false);
  });

  it("asks for a rehash of weaker or foreign hashes only", async () => {
    assert.equal(hasher.needsRehash(await hasher.hash("x".repeat(12))), false);
    assert.equal(hasher.needsRehash(await hash("x".repeat(12), { ...ARGON2_OPTIONS, memoryCost: 4096 })), true);
    assert.equal(hasher.needsRehash("$2b$10$abcdefghijklmnopqrstuv"), true);
  });
});
