// An OpenAPI 3.1 description of the JSON API, generated at start-up from the same descriptors
// the gateway routes with, so it cannot drift from what is served (GET /openapi.json).
//
// Each exposed method is `POST /<package>.<Service>/<Method>` with a JSON body; read-only ones
// also `GET ...?encoding=json&message=<url-encoded JSON>` (Connect GET). Schemas follow the
// protobuf JSON mapping: lowerCamelCase names, 64-bit integers as strings, enums by name,
// Timestamps as RFC 3339 strings, bytes as base64, maps as objects, oneofs as "at most one
// of". USER and ADMIN methods require the bearer scheme. protobuf-es does not carry proto
// comments at run time, so there are no descriptions beyond what the descriptors say.
import { getOption, ScalarType, type DescEnum, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as Idempotency } from "@bufbuild/protobuf/wkt";
import { field as fieldRules, oneof as oneofRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Access, accessOf, ADMIN_ROLE } from "./access.js";

type Schema = Record<string, unknown>;

export interface OpenApiOptions {
  readonly title?: string;
  readonly version?: string;
}

export function buildOpenApi(methods: readonly DescMethod[], opts: OpenApiOptions = {}): Record<string, unknown> {
  const schemas: Record<string, Schema> = { ConnectError: connectErrorSchema };
  const ref = (desc: DescMessage | DescEnum): Schema => {
    if (!(desc.typeName in schemas)) {
      schemas[desc.typeName] = {}; // placeholder first: messages may refer to themselves
      schemas[desc.typeName] = desc.kind === "enum" ? enumSchema(desc) : messageSchema(desc, typeSchema);
    }
    return { $ref: `#/components/schemas/${desc.typeName}` };
  };
  const typeSchema = (desc: DescMessage | DescEnum): Schema => wellKnown(desc) ?? ref(desc);

  const paths: Record<string, unknown> = {};
  for (const method of methods) paths[`/${method.parent.typeName}/${method.name}`] = pathItem(method, typeSchema);

  return {
    openapi: "3.1.0",
    info: {
      title: opts.title ?? "Shop mesh API",
      version: opts.version ?? "v1",
      description:
        "Connect protocol over HTTP: POST a JSON body to /<package>.<Service>/<Method>, or GET read-only methods with " +
        "?encoding=json&message=<url-encoded JSON>. Errors are Connect error objects; gRPC and gRPC-Web are served on the same paths.",
    },
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas,
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      responses: {
        ConnectError: {
          description: "A Connect error; the HTTP status follows the code (invalid_argument 400, unauthenticated 401, permission_denied 403, not_found 404, resource_exhausted 429, unavailable 503)",
          content: { "application/json": { schema: { $ref: "#/components/schemas/ConnectError" } } },
        },
      },
    },
  };
}

function pathItem(method: DescMethod, typeSchema: (d: DescMessage | DescEnum) => Schema): Record<string, unknown> {
  const service = method.parent.name;
  const level = accessOf(method);
  const common = {
    tags: [service],
    "x-shop-access": Access[level],
    security: level === Access.PUBLIC ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }],
    ...(level === Access.ADMIN ? { description: `Requires the ${ADMIN_ROLE} role.` } : {}),
    ...(method.deprecated ? { deprecated: true } : {}),
  };
  const input = typeSchema(method.input);
  const output = typeSchema(method.output);
  const errors = { default: { $ref: "#/components/responses/ConnectError" } };

  if (method.methodKind === "server_streaming") {
    const stream = "Connect streaming: enveloped messages (application/connect+json); see https://connectrpc.com/docs/protocol";
    return {
      post: {
        ...common,
        operationId: `${service}_${method.name}`,
        summary: `${method.name} (server stream)`,
        requestBody: { required: true, description: stream, content: { "application/connect+json": { schema: input } } },
        responses: { "200": { description: stream, content: { "application/connect+json": { schema: output } } }, ...errors },
      },
    };
  }
  const item: Record<string, unknown> = {
    post: {
      ...common,
      operationId: `${service}_${method.name}`,
      summary: method.name,
      requestBody: { required: true, content: { "application/json": { schema: input } } },
      responses: { "200": { description: "OK", content: { "application/json": { schema: output } } }, ...errors },
    },
  };
  if (method.idempotency === Idempotency.NO_SIDE_EFFECTS) {
    item["get"] = {
      ...common,
      operationId: `${service}_${method.name}_get`,
      summary: `${method.name} (cacheable GET)`,
      parameters: [
        { name: "message", in: "query", required: true, content: { "application/json": { schema: input } } },
        { name: "encoding", in: "query", required: true, schema: { type: "string", enum: ["json"] } },
        { name: "connect", in: "query", required: false, schema: { type: "string", enum: ["v1"] } },
        { name: "If-None-Match", in: "header", required: false, schema: { type: "string" } },
      ],
      responses: {
        "200": {
          description: "OK",
          headers: { ETag: { schema: { type: "string" } }, "Cache-Control": { schema: { type: "string" } } },
          content: { "application/json": { schema: output } },
        },
        "304": { description: "Not modified: the If-None-Match tag is current" },
        ...errors,
      },
    };
  }
  return item;
}

function messageSchema(desc: DescMessage, typeSchema: (d: DescMessage | DescEnum) => Schema): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const f of desc.fields) {
    properties[f.jsonName] = fieldSchema(f, typeSchema);
    if (f.oneof === undefined && getOption(f, fieldRules).required) required.push(f.jsonName);
  }
  const out: Schema = { type: "object", properties, additionalProperties: false };
  if (required.length > 0) out["required"] = required;
  // A oneof group: exactly one member present (when buf.validate requires it), or at most one.
  const groups = desc.oneofs.map((o) => {
    const members = o.fields.map((f) => ({ required: [f.jsonName] }));
    const none = { not: { anyOf: members } };
    return { oneOf: getOption(o, oneofRules).required ? members : [...members, none] };
  });
  if (groups.length > 0) out["allOf"] = groups;
  return out;
}

function fieldSchema(f: DescField, typeSchema: (d: DescMessage | DescEnum) => Schema): Schema {
  switch (f.fieldKind) {
    case "scalar":
      return scalarSchema(f.scalar);
    case "enum":
      return typeSchema(f.enum);
    case "message":
      return typeSchema(f.message);
    case "list":
      return {
        type: "array",
        items: f.listKind === "scalar" ? scalarSchema(f.scalar) : f.listKind === "enum" ? typeSchema(f.enum) : typeSchema(f.message),
      };
    case "map":
      return {
        type: "object",
        additionalProperties: f.mapKind === "scalar" ? scalarSchema(f.scalar) : f.mapKind === "enum" ? typeSchema(f.enum) : typeSchema(f.message),
      };
  }
}

function enumSchema(desc: DescEnum): Schema {
  if (desc.typeName === "google.protobuf.NullValue") return { type: "null" };
  return { type: "string", enum: desc.values.map((v) => v.name) };
}

const int64 = (format: string): Schema => ({ type: "string", format, pattern: "^-?[0-9]+$", description: "64-bit integer as a decimal string" });

export function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "int64", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return int64("int64");
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return int64("uint64");
  }
}

/** The special JSON forms of the well-known types; undefined for ordinary messages. */
function wellKnown(desc: DescMessage | DescEnum): Schema | undefined {
  if (desc.kind === "enum") return desc.typeName === "google.protobuf.NullValue" ? { type: "null" } : undefined;
  const nullable = (s: Schema): Schema => ({ ...s, type: [s["type"], "null"] });
  switch (desc.typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: "seconds with an `s` suffix, e.g. 1.5s" };
    case "google.protobuf.FieldMask":
      return { type: "string", description: "comma-separated field paths in lowerCamelCase" };
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array", items: {} };
    case "google.protobuf.Empty":
      return { type: "object", additionalProperties: false };
    case "google.protobuf.Any":
      return { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"], additionalProperties: true };
    case "google.protobuf.BoolValue":
      return nullable(scalarSchema(ScalarType.BOOL));
    case "google.protobuf.StringValue":
      return nullable(scalarSchema(ScalarType.STRING));
    case "google.protobuf.BytesValue":
      return nullable(scalarSchema(ScalarType.BYTES));
    case "google.protobuf.Int32Value":
      return nullable(scalarSchema(ScalarType.INT32));
    case "google.protobuf.UInt32Value":
      return nullable(scalarSchema(ScalarType.UINT32));
    case "google.protobuf.Int64Value":
      return nullable(scalarSchema(ScalarType.INT64));
    case "google.protobuf.UInt64Value":
      return nullable(scalarSchema(ScalarType.UINT64));
    case "google.protobuf.FloatValue":
      return nullable(scalarSchema(ScalarType.FLOAT));
    case "google.protobuf.DoubleValue":
      return nullable(scalarSchema(ScalarType.DOUBLE));
    default:
      return undefined;
  }
}

const connectErrorSchema: Schema = {
  type: "object",
  required: ["code"],
  properties: {
    code: {
      type: "string",
      enum: [
        "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied",
        "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable",
        "data_loss", "unauthenticated",
      ],
    },
    message: { type: "string" },
    details: {
      type: "array",
      description: "google.rpc.BadRequest carries field violations; `debug` holds its JSON form ({fieldViolations: [{field, description}]})",
      items: {
        type: "object",
        required: ["type", "value"],
        properties: { type: { type: "string" }, value: { type: "string", contentEncoding: "base64" }, debug: {} },
      },
    },
  },
};
