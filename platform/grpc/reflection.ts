// gRPC server reflection, so `grpcurl list` / `grpcurl describe` work against any service.
//
// @grpc/reflection expects a proto-loader "package definition": it reads only the
// `fileDescriptorProtos` arrays in it (serialized google.protobuf.FileDescriptorProto), indexes
// every symbol, and links files by the types they reference. We already hold the same
// descriptors, compiled by protoc-gen-es, so we serialize those instead of loading .proto files
// at run time. Every transitive import must be included (buf/validate, well-known types,
// shop/common...), or clients cannot resolve the types a method uses.
import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ReflectionService } from "@grpc/reflection";
import type { Server } from "@grpc/grpc-js";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

/** Serves grpc.reflection.v1 and v1alpha for `services` (only those are listed). */
export function addReflection(server: Server, services: readonly DescService[]): void {
  const files = new Map<string, DescFile>();
  for (const service of services) collectFiles(service.file, files);
  const fileDescriptorProtos = [...files.values()].map((file) => {
    const bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  });
  // One entry is enough: the library walks all entries' files and de-duplicates them by name.
  const definition = {
    "shop.reflection": { format: "Protocol Buffer 3 FileDescriptorProto", type: {}, fileDescriptorProtos },
  } as unknown as PackageDefinition;
  const reflection = new ReflectionService(definition, { services: services.map((s) => s.typeName) });
  reflection.addToServer(server);
}

function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.proto.name)) return;
  into.set(file.proto.name, file);
  for (const dep of file.dependencies) collectFiles(dep, into);
}
