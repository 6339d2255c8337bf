// The one bridge between protobuf-es descriptors and grpc-js. Both the server (to register
// handlers) and the client (to make calls) take their paths and codecs from here, so the two
// ends can never disagree on a method path or on how a message is encoded.
//
// grpc-js only needs, per method, a path and four functions (serialize/deserialize for request
// and response). protobuf-es v2 gives us the schema for each; we close over it once per method
// and cache the result per descriptor, so nothing is rebuilt per call. Messages are written by
// the platform's encodeBinary (toBinary's bytes, five to six times faster) and read by its
// decodeBinary (fromBinary's messages, two to three times faster).
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  type Message,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { decodeBinary } from "../binary-decoding.js";
import { encodeBinary } from "../binary-encoding.js";

/** A grpc-js method definition whose serializers accept a message or its init shape. */
export type GrpcMethodDefinition = MethodDefinition<Message | MessageInitShape<DescMessage>, Message>;

const methodCache = new WeakMap<DescMethod, GrpcMethodDefinition>();
const serviceCache = new WeakMap<DescService, ServiceDefinition>();

/** `/shop.catalog.v1.CatalogService/GetProduct`: the HTTP/2 path gRPC puts on the wire. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * The grpc-js definition of one method. Serializers accept an init shape as well as a message:
 * handlers may return plain objects, and `create` returns a real message unchanged, so the
 * common case costs nothing extra.
 */
export function grpcMethodDefinition(method: DescMethod): GrpcMethodDefinition {
  let def = methodCache.get(method);
  if (def) return def;
  const input = method.input;
  const output = method.output;
  def = {
    path: methodPath(method),
    originalName: method.localName,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: encoder(input),
    requestDeserialize: decoder(input),
    responseSerialize: encoder(output),
    responseDeserialize: decoder(output),
  };
  methodCache.set(method, def);
  return def;
}

/** The grpc-js definition of a whole service, keyed by each method's localName. */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  let def = serviceCache.get(service);
  if (def) return def;
  const methods: Record<string, GrpcMethodDefinition> = {};
  for (const method of service.methods) methods[method.localName] = grpcMethodDefinition(method);
  def = methods;
  serviceCache.set(service, def);
  return def;
}

function encoder(schema: DescMessage): (value: Message | MessageInitShape<DescMessage>) => Buffer {
  return (value) => {
    const bytes = encodeBinary(schema, create(schema, value));
    // A view over the same memory: grpc-js wants a Buffer, and copying would cost per call.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function decoder(schema: DescMessage): (bytes: Buffer) => Message {
  return (bytes) => decodeBinary(schema, bytes);
}
