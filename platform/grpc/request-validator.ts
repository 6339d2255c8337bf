// Validation of every request against the buf.validate rules declared next to the contract,
// once, at the edge of the service. Business rules stay in domain code.
//
// One protovalidate validator per process: it compiles a plan per message type on first use
// (tens of milliseconds for rules with patterns) and keeps it, so the per-call cost is
// evaluating the plan, and several servers in one process (npm start) share the plans. Message types that carry no rules at
// all (common for responses-as-requests such as empty messages) are remembered and skipped.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator, type Validator, type Violation } from "@bufbuild/protovalidate";
import { invalidArgument, type FieldViolation } from "../errors.js";

/** Throws ShopError INVALID_ARGUMENT (one field violation per rule broken) or returns. */
export type RequestValidator = (schema: DescMessage, message: Message) => void;

let shared: Validator | undefined;
const unconstrained = new WeakSet<DescMessage>();

export function createRequestValidator(): RequestValidator {
  const validator = (shared ??= createValidator());
  return (schema, message) => {
    if (unconstrained.has(schema)) return;
    const result = validator.validate(schema, message);
    switch (result.kind) {
      case "valid":
        if (!hasRules(schema)) unconstrained.add(schema);
        return;
      case "invalid": {
        const violations = result.violations.map(toFieldViolation);
        const first = violations[0];
        throw invalidArgument(first ? `invalid request: ${first.field}: ${first.description}` : "invalid request", violations);
      }
      case "error":
        // A rule that does not compile is our bug, not the caller's: it surfaces as INTERNAL
        // (logged with the trace id by the server) rather than blaming the request.
        throw new Error(`request validation failed for ${schema.typeName}: ${result.error.message}`, { cause: result.error });
    }
  };
}

function toFieldViolation(v: Violation): FieldViolation {
  // `items[0].quantity`, `lookup` (a required oneof), `attributes["color"]` (a map value).
  return { field: pathToString(v.field), description: v.message || v.ruleId };
}

// Rules live in options with the buf.validate extensions (field number 1159). A message whose
// fields, oneofs and nested message fields carry no options at all cannot have violations.
const seen = new WeakMap<DescMessage, boolean>();
function hasRules(schema: DescMessage): boolean {
  const known = seen.get(schema);
  if (known !== undefined) return known;
  seen.set(schema, true); // recursion guard: assume rules while we look
  const result =
    hasOptions(schema.proto.options) ||
    schema.oneofs.some((o) => hasOptions(o.proto.options)) ||
    schema.fields.some(
      (f) => hasOptions(f.proto.options) || (f.message !== undefined && hasRules(f.message)),
    );
  seen.set(schema, result);
  return result;
}

function hasOptions(options: Message | undefined): boolean {
  if (!options) return false;
  const unknown = (options as { $unknown?: unknown[] }).$unknown;
  return unknown !== undefined && unknown.length > 0;
}
