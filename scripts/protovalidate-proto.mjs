#!/usr/bin/env node
// Writes .proto-deps/buf/validate/validate.proto from the descriptor embedded in the installed
// @bufbuild/protovalidate package.
//
// Why: our contracts import "buf/validate/validate.proto" for their validation annotations. The
// usual source, the Buf Schema Registry, is not reachable from every machine that builds this
// repository, and vendoring a copy would let the annotations we compile drift from the rules
// the runtime validator understands. The npm package already ships the exact descriptor its
// validator was built from, so we print it back as .proto source. One version, one truth.
//
// What matters for correctness: `buf` compiles our files against this output and encodes every
// `(buf.validate.field)` annotation by field number and type. At run time protovalidate decodes
// those bytes with its own embedded schema. So package, message and field names, numbers,
// labels, types, oneofs, extension ranges and the `extend` blocks must match exactly; comments
// and formatting do not. Options are reproduced too (including the CEL `predefined` rules), so
// the descriptor buf builds from this file equals the embedded one (test/contracts.test.ts
// checks that).
//
// Plain Node ESM, no build step: `npm run proto:deps` (also run by `npm run generate`).
// The output directory is gitignored and rewritten on every run.

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { isFieldSet, getExtension, hasExtension } from "@bufbuild/protobuf";
import { protoCamelCase, reflect } from "@bufbuild/protobuf/reflect";
import * as wkt from "@bufbuild/protobuf/wkt";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FieldDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import * as validatePb from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const outFile = join(repoRoot, ".proto-deps", "buf", "validate", "validate.proto");

const file = validatePb.file_buf_validate_validate;
const proto = file.proto; // google.protobuf.FileDescriptorProto

// The package's own extensions (buf.validate.field, .predefined, ...) may appear inside the options
// of validate.proto itself; they arrive as unknown fields and are decoded with these.
const knownExtensions = file.extensions;

// Scalar type keywords, by FieldDescriptorProto.Type.
const scalarKeyword = {
  [Type.DOUBLE]: "double",
  [Type.FLOAT]: "float",
  [Type.INT64]: "int64",
  [Type.UINT64]: "uint64",
  [Type.INT32]: "int32",
  [Type.FIXED64]: "fixed64",
  [Type.FIXED32]: "fixed32",
  [Type.BOOL]: "bool",
  [Type.STRING]: "string",
  [Type.BYTES]: "bytes",
  [Type.UINT32]: "uint32",
  [Type.SFIXED32]: "sfixed32",
  [Type.SFIXED64]: "sfixed64",
  [Type.SINT32]: "sint32",
  [Type.SINT64]: "sint64",
};

function fail(message) {
  throw new Error(`protovalidate-proto: ${message}`);
}

// Proto 2 and 3 only: editions would need features printed, and protovalidate has not moved yet.
const syntax = proto.syntax === "" ? "proto2" : proto.syntax;
if (syntax !== "proto2" && syntax !== "proto3") {
  fail(`unsupported syntax "${proto.syntax}" in ${proto.name}; teach this script about editions`);
}

/** Quote a string as a .proto string literal (the same escapes protoc accepts). */
function quote(s) {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0);
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch; // .proto files are UTF-8; other characters stay as they are
  }
  return out + '"';
}

/** Bytes as an escaped string literal (octal escapes for anything outside printable ASCII). */
function quoteBytes(bytes) {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\" + b.toString(8).padStart(3, "0");
  }
  return out + '"';
}

/**
 * Type references in a descriptor are fully qualified (".buf.validate.Rule"). Types of our own
 * package are printed relative for readability; everything else keeps the leading dot, which
 * the .proto grammar accepts and which can never resolve to the wrong symbol.
 */
function typeRef(typeName) {
  const own = `.${proto.package}.`;
  if (typeName.startsWith(own) && !typeName.slice(own.length).includes(".")) {
    return typeName.slice(own.length);
  }
  return typeName;
}

/** Print a scalar or enum value of a reflected field in text format. */
function textValue(field, value) {
  if (field.fieldKind === "enum" || field.listKind === "enum") {
    return field.enum.values.find((v) => v.number === value)?.name ?? String(value);
  }
  if (typeof value === "string") return quote(value);
  if (value instanceof Uint8Array) return quoteBytes(value);
  if (typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  }
  return String(value);
}

/** A message value as a text-format aggregate: `{name: value, sub: {...}, list: [...]}`. */
function textMessage(schema, message) {
  const r = reflect(schema, message);
  const parts = [];
  for (const field of r.fields) {
    if (!r.isSet(field)) continue;
    const value = r.get(field);
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        parts.push(`${field.name}: ${textValue(field, value)}`);
        break;
      case "message":
        parts.push(`${field.name}: ${textMessage(field.message, value.message)}`);
        break;
      case "list": {
        const items = [...value].map((v) =>
          field.listKind === "message" ? textMessage(field.message, v.message) : textValue(field, v),
        );
        parts.push(`${field.name}: [${items.join(", ")}]`);
        break;
      }
      case "map":
        fail(`map fields in option values are not supported (${field.name})`);
    }
  }
  return `{${parts.join(", ")}}`;
}

/**
 * The options set on a descriptor element, as `name = value` strings. Standard options are read by
 * reflection (so new ones need no code here); custom options that belong to this package are
 * decoded from unknown fields. Anything else cannot be printed faithfully, so we stop.
 */
function optionList(options) {
  if (options === undefined) return [];
  const list = [];
  const r = reflect(schemaOf(options), options);
  for (const field of r.fields) {
    if (!r.isSet(field)) continue;
    if (field.name === "uninterpreted_option") continue; // never present in compiled descriptors
    if (field.fieldKind !== "scalar" && field.fieldKind !== "enum") {
      fail(`cannot print option ${field.name} of kind ${field.fieldKind}`);
    }
    list.push(`${field.name} = ${textValue(field, r.get(field))}`);
  }
  const unknownNumbers = new Set((options.$unknown ?? []).map((u) => u.no));
  for (const ext of knownExtensions) {
    if (ext.extendee.typeName !== options.$typeName || !hasExtension(options, ext)) continue;
    unknownNumbers.delete(ext.number);
    const value = getExtension(options, ext);
    const rendered =
      ext.fieldKind === "message" ? textMessage(ext.message, value) : textValue(ext, value);
    list.push(`(${ext.typeName}) = ${rendered}`);
  }
  if (unknownNumbers.size > 0) {
    fail(`unknown option field numbers ${[...unknownNumbers].join(", ")} on ${options.$typeName}`);
  }
  return list;
}

// Message schemas of the option types, looked up by type name.
const optionSchemas = new Map(
  Object.values(wkt)
    .filter((v) => v && v.kind === "message" && v.typeName.startsWith("google.protobuf."))
    .map((v) => [v.typeName, v]),
);
function schemaOf(message) {
  return optionSchemas.get(message.$typeName) ?? fail(`no schema for ${message.$typeName}`);
}

/** `[a = 1, b = 2]` suffix for fields and enum values, or "". */
function bracketOptions(items) {
  return items.length ? ` [${items.join(", ")}]` : "";
}

function fieldType(field, nestedMaps) {
  if (field.type === Type.MESSAGE) {
    const entry = nestedMaps.get(field.typeName);
    if (entry) {
      const [key, value] = entry.field;
      return `map<${fieldType(key, nestedMaps)}, ${fieldType(value, nestedMaps)}>`;
    }
    return typeRef(field.typeName);
  }
  if (field.type === Type.ENUM) return typeRef(field.typeName);
  if (field.type === Type.GROUP) fail(`groups are not supported (${field.name})`);
  return scalarKeyword[field.type] ?? fail(`unknown field type ${field.type} (${field.name})`);
}

// Note: descriptor.proto is proto2, so an unset field of a descriptor reads as its default (0,
// ""). Presence (default_value, json_name, oneof_index) must be asked with isFieldSet.

/** One field line. `inOneof` fields carry no label; map fields never do. */
function printField(field, indent, nestedMaps, inOneof) {
  const opts = [];
  if (isFieldSet(field, FieldDescriptorProtoSchema.field.defaultValue)) {
    const d = field.defaultValue;
    opts.push(`default = ${field.type === Type.STRING ? quote(d) : field.type === Type.BYTES ? `"${d}"` : d}`);
  }
  // json_name is computed by the compiler; only a custom one needs spelling out.
  if (isFieldSet(field, FieldDescriptorProtoSchema.field.jsonName) && field.jsonName !== protoCamelCase(field.name)) {
    opts.push(`json_name = ${quote(field.jsonName)}`);
  }
  opts.push(...optionList(field.options));
  const type = fieldType(field, nestedMaps);
  let label = "";
  if (!inOneof && !type.startsWith("map<")) {
    if (field.label === Label.REPEATED) label = "repeated ";
    else if (field.label === Label.REQUIRED) label = "required ";
    else if (syntax === "proto2" || field.proto3Optional) label = "optional ";
  }
  return `${indent}${label}${type} ${field.name} = ${field.number}${bracketOptions(opts)};`;
}

/** `reserved 1, 5 to 9;` from [start, end) ranges (messages) or [start, end] ranges (enums). */
function printRanges(keyword, ranges, endExclusive, indent) {
  if (ranges.length === 0) return [];
  const max = 536870912; // 2^29: the exclusive end of the field number space, printed as "max"
  const parts = ranges.map(({ start, end }) => {
    const last = endExclusive ? end - 1 : end;
    if (endExclusive && end === max) return `${start} to max`;
    return start === last ? `${start}` : `${start} to ${last}`;
  });
  return [`${indent}${keyword} ${parts.join(", ")};`];
}

function printEnum(e, indent) {
  const lines = [`${indent}enum ${e.name} {`];
  for (const o of optionList(e.options)) lines.push(`${indent}  option ${o};`);
  for (const v of e.value) {
    lines.push(`${indent}  ${v.name} = ${v.number}${bracketOptions(optionList(v.options))};`);
  }
  lines.push(...printRanges("reserved", e.reservedRange, false, indent + "  "));
  if (e.reservedName.length) lines.push(`${indent}  reserved ${e.reservedName.map(quote).join(", ")};`);
  lines.push(`${indent}}`);
  return lines;
}

function printMessage(m, indent) {
  const inner = indent + "  ";
  const lines = [`${indent}message ${m.name} {`];
  for (const o of optionList(m.options)) lines.push(`${inner}option ${o};`);

  // Map fields are represented as nested "XxxEntry" messages with map_entry = true; they are
  // printed as map<K, V> and their entry messages are not printed.
  const nestedMaps = new Map();
  const prefix = `.${proto.package ? proto.package + "." : ""}`;
  for (const n of m.nestedType) {
    if (n.options?.mapEntry) nestedMaps.set(`${prefix}${qualifiedPath(m)}.${n.name}`, n);
  }

  // Fields in declaration order; consecutive members of a real oneof are grouped in its block.
  // Synthetic oneofs (proto3 `optional`) are not printed as blocks.
  const isReal = (f) =>
    isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) && !f.proto3Optional;
  const printedOneofs = new Set();
  for (const f of m.field) {
    if (!isReal(f)) {
      lines.push(printField(f, inner, nestedMaps, false));
      continue;
    }
    if (printedOneofs.has(f.oneofIndex)) continue;
    printedOneofs.add(f.oneofIndex);
    const decl = m.oneofDecl[f.oneofIndex];
    lines.push(`${inner}oneof ${decl.name} {`);
    for (const o of optionList(decl.options)) lines.push(`${inner}  option ${o};`);
    for (const g of m.field) {
      if (isReal(g) && g.oneofIndex === f.oneofIndex) lines.push(printField(g, inner + "  ", nestedMaps, true));
    }
    lines.push(`${inner}}`);
  }

  for (const n of m.nestedType) {
    if (!n.options?.mapEntry) lines.push(...printMessage(withPath(n, m), inner));
  }
  for (const e of m.enumType) lines.push(...printEnum(e, inner));
  lines.push(...printExtends(m.extension, inner));

  const extRanges = m.extensionRange.map(({ start, end }) => ({ start, end }));
  lines.push(...printRanges("extensions", extRanges, true, inner));
  lines.push(...printRanges("reserved", m.reservedRange, true, inner));
  if (m.reservedName.length) lines.push(`${inner}reserved ${m.reservedName.map(quote).join(", ")};`);
  lines.push(`${indent}}`);
  return lines;
}

// Nested messages need their dotted path (Outer.Inner) to resolve their own map entries.
const parentOf = new WeakMap();
function withPath(child, parent) {
  parentOf.set(child, parent);
  return child;
}
function qualifiedPath(m) {
  const parent = parentOf.get(m);
  return parent ? `${qualifiedPath(parent)}.${m.name}` : m.name;
}

/** `extend google.protobuf.FieldOptions { ... }` blocks, one per extendee, in first-seen order. */
function printExtends(extensions, indent) {
  const byExtendee = new Map();
  for (const x of extensions) {
    if (!byExtendee.has(x.extendee)) byExtendee.set(x.extendee, []);
    byExtendee.get(x.extendee).push(x);
  }
  const lines = [];
  for (const [extendee, fields] of byExtendee) {
    lines.push(`${indent}extend ${typeRef(extendee)} {`);
    for (const f of fields) lines.push(printField(f, indent + "  ", new Map(), false));
    lines.push(`${indent}}`);
  }
  return lines;
}

function printFile() {
  const lines = [
    `// GENERATED by scripts/protovalidate-proto.mjs from @bufbuild/protovalidate's embedded`,
    `// descriptor. Do not edit; run \`npm run proto:deps\`. The descriptor carries no comments:`,
    `// read the documented original at github.com/bufbuild/protovalidate (proto/protovalidate).`,
    `syntax = ${quote(syntax)};`,
    ``,
  ];
  if (proto.package) lines.push(`package ${proto.package};`, ``);
  const publicDeps = new Set(proto.publicDependency);
  const weakDeps = new Set(proto.weakDependency);
  proto.dependency.forEach((dep, i) => {
    const modifier = publicDeps.has(i) ? "public " : weakDeps.has(i) ? "weak " : "";
    lines.push(`import ${modifier}${quote(dep)};`);
  });
  lines.push(``);
  for (const o of optionList(proto.options)) lines.push(`option ${o};`);
  lines.push(``);
  lines.push(...printExtends(proto.extension, ""));
  for (const e of proto.enumType) lines.push(``, ...printEnum(e, ""));
  for (const m of proto.messageType) lines.push(``, ...printMessage(m, ""));
  if (proto.service.length) fail("services are not supported");
  return lines.join("\n") + "\n";
}

const source = printFile();
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, source);
// `buf format` runs over the whole workspace (this module included), so hand it a file that is
// already in its canonical layout; the descriptor is unchanged by formatting.
execFileSync(join(repoRoot, "node_modules", ".bin", "buf"), ["format", "-w", dirname(dirname(dirname(outFile)))], {
  cwd: repoRoot,
  stdio: "inherit",
});
process.stdout.write(`wrote ${outFile.slice(repoRoot.length + 1)} (${proto.messageType.length} messages)\n`);
