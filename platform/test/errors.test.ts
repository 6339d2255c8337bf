import assert from "node:assert/strict";
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { Code, decodeViolations, encodeStatus, fieldError, fromServiceError, INTERNAL_MESSAGE, notFound, toStatus } from "../errors.js";

function asServiceError(s: ReturnType<typeof toStatus>): ServiceError {
  return Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: s.metadata ?? new Metadata() });
}

describe("errors", () => {
  it("round-trips field violations through grpc-status-details-bin", () => {
    const status = toStatus(fieldError("items[0].quantity", "must be at least 1"));
    assert.equal(status.code, Code.INVALID_ARGUMENT);
    const back = fromServiceError(asServiceError(status));
    assert.equal(back.code, Code.INVALID_ARGUMENT);
    assert.deepEqual(back.violations, [{ field: "items[0].quantity", description: "must be at least 1" }]);
  });

  it("keeps domain codes and messages", () => {
    const status = toStatus(notFound("product", "p-1"));
    assert.equal(status.code, Code.NOT_FOUND);
    assert.equal(status.details, "product p-1 not found");
  });

  it("turns anything unexpected into INTERNAL without internals", () => {
    const status = toStatus(new Error("connect ECONNREFUSED 10.0.0.7:5432 password=hunter2"));
    assert.equal(status.code, Code.INTERNAL);
    assert.equal(status.details, INTERNAL_MESSAGE);
    assert.equal(status.metadata, undefined);
  });

  it("decodes a Status with several violations and ignores garbage", () => {
    const bytes = encodeStatus(Code.INVALID_ARGUMENT, "bad", [
      { field: "email", description: "must be an email" },
      { field: "password", description: "too short" },
    ]);
    assert.deepEqual(decodeViolations(bytes).map((v) => v.field), ["email", "password"]);
    assert.deepEqual(decodeViolations(new Uint8Array([0xff, 0xff, 0xff])), []);
  });
});
