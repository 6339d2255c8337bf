// The one error model. Domain code throws ShopError (through the small constructors below);
// the gRPC server adapter turns it into a status code plus a standard google.rpc.Status in
// `grpc-status-details-bin` carrying google.rpc.BadRequest field violations, which grpcurl,
// Connect and every gRPC stack understand. Anything that is not a ShopError becomes INTERNAL
// with a fixed message, so no stack trace, SQL text or hostname ever reaches a caller.
import { Metadata, status as Code, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

export { Code };

export interface FieldViolation {
  /** Path of the offending field in the request, e.g. `items[0].quantity`. */
  readonly field: string;
  readonly description: string;
}

export class ShopError extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly violations: readonly FieldViolation[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ShopError";
  }
}

export const invalidArgument = (message: string, violations: readonly FieldViolation[] = []) =>
  new ShopError(Code.INVALID_ARGUMENT, message, violations);
export const fieldError = (field: string, description: string) =>
  new ShopError(Code.INVALID_ARGUMENT, `${field}: ${description}`, [{ field, description }]);
export const notFound = (what: string, id?: string) =>
  new ShopError(Code.NOT_FOUND, id === undefined ? `${what} not found` : `${what} ${id} not found`);
export const alreadyExists = (message: string) => new ShopError(Code.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new ShopError(Code.FAILED_PRECONDITION, message);
export const permissionDenied = (message = "permission denied") => new ShopError(Code.PERMISSION_DENIED, message);
export const unauthenticated = (message = "authentication required") => new ShopError(Code.UNAUTHENTICATED, message);
export const resourceExhausted = (message: string) => new ShopError(Code.RESOURCE_EXHAUSTED, message);
export const unavailable = (message: string, cause?: unknown) =>
  new ShopError(Code.UNAVAILABLE, message, [], { cause });
export const deadlineExceeded = (message = "deadline exceeded") => new ShopError(Code.DEADLINE_EXCEEDED, message);
export const aborted = (message: string) => new ShopError(Code.ABORTED, message);

export const INTERNAL_MESSAGE = "internal error";
const STATUS_DETAILS_KEY = "grpc-status-details-bin";
const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";

export function isShopError(err: unknown): err is ShopError {
  return err instanceof ShopError;
}

/** What leaves a server: a ShopError as is, anything else as an opaque INTERNAL. */
export function toStatus(err: unknown): Partial<StatusObject> & { code: Code; details: string } {
  if (!(err instanceof ShopError)) return { code: Code.INTERNAL, details: INTERNAL_MESSAGE };
  const out: Partial<StatusObject> & { code: Code; details: string } = { code: err.code, details: err.message };
  if (err.violations.length > 0) {
    const metadata = new Metadata();
    metadata.set(STATUS_DETAILS_KEY, Buffer.from(encodeStatus(err.code, err.message, err.violations)));
    out.metadata = metadata;
  }
  return out;
}

/** What a client sees: a peer's gRPC error back as a ShopError, field violations included. */
export function fromServiceError(err: ServiceError): ShopError {
  const raw = err.metadata?.get(STATUS_DETAILS_KEY)[0];
  const violations = raw instanceof Buffer ? decodeViolations(raw) : [];
  return new ShopError(err.code, err.details || err.message, violations, { cause: err });
}

// google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
// google.protobuf.Any { string type_url = 1; bytes value = 2; }
// google.rpc.BadRequest { repeated FieldViolation field_violations = 1; }
// FieldViolation { string field = 1; string description = 2; }
// Encoded by hand: two tiny fixed schemas do not justify vendoring googleapis.
export function encodeStatus(code: Code, message: string, violations: readonly FieldViolation[]): Uint8Array {
  const badRequest = new BinaryWriter();
  for (const v of violations) {
    badRequest.tag(1, WireType.LengthDelimited).bytes(
      new BinaryWriter().tag(1, WireType.LengthDelimited).string(v.field).tag(2, WireType.LengthDelimited).string(v.description).finish(),
    );
  }
  const any = new BinaryWriter()
    .tag(1, WireType.LengthDelimited).string(BAD_REQUEST_TYPE)
    .tag(2, WireType.LengthDelimited).bytes(badRequest.finish())
    .finish();
  return new BinaryWriter()
    .tag(1, WireType.Varint).int32(code)
    .tag(2, WireType.LengthDelimited).string(message)
    .tag(3, WireType.LengthDelimited).bytes(any)
    .finish();
}

/** The BadRequest details of a google.rpc.Status; other detail types are ignored. */
export function decodeViolations(bytes: Uint8Array): FieldViolation[] {
  const out: FieldViolation[] = [];
  try {
    forEachField(bytes, (no, r) => {
      if (no !== 3) return false;
      let typeUrl = "";
      let value: Uint8Array = new Uint8Array();
      forEachField(r.bytes(), (ano, ar) => {
        if (ano === 1) typeUrl = ar.string();
        else if (ano === 2) value = ar.bytes();
        else return false;
        return true;
      });
      if (typeUrl !== BAD_REQUEST_TYPE) return true;
      forEachField(value, (bno, br) => {
        if (bno !== 1) return false;
        let field = "";
        let description = "";
        forEachField(br.bytes(), (fno, fr) => {
          if (fno === 1) field = fr.string();
          else if (fno === 2) description = fr.string();
          else return false;
          return true;
        });
        out.push({ field, description });
        return true;
      });
      return true;
    });
  } catch {
    // Malformed details from a peer are not worth failing the call over.
  }
  return out;
}

/** Calls `fn` per field; `fn` returns false to have the field skipped. */
function forEachField(bytes: Uint8Array, fn: (fieldNo: number, reader: BinaryReader) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (!fn(no, r)) r.skip(wt, no);
  }
}
