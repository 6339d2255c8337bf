// Messages to hold the platform's binary codec (binary-encoding.ts, binary-decoding.ts) to
// protobuf-es's own: the descriptors of every generated file of the shop's contracts, a search
// page like the catalog serves, random JSON documents as Structs, and a proto2 file built at
// run time with what the shop's proto3 contracts never use (closed enums, groups, defaults,
// wrapper and Struct fields, 64-bit integers as strings, a required field).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { create, createFileRegistry, fromJson, type DescFile, type DescMessage, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { file_google_protobuf_struct, file_google_protobuf_wrappers, FileDescriptorProtoSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { SearchProductsResponseSchema, type SearchProductsResponse } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { ProductSchema, ProductStatus } from "../../gen/shop/catalog/v1/product_pb.js";
import { repoRoot } from "../paths.js";

/** Every generated file of the shop's contracts (gen/), for their descriptors as a corpus. */
export async function shopFiles(): Promise<DescFile[]> {
  const files: DescFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith("_pb.js")) {
        const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
        for (const value of Object.values(mod)) if ((value as { kind?: unknown }).kind === "file") files.push(value as DescFile);
      }
    }
  };
  await walk(join(repoRoot(), "dist", "gen", "shop"));
  return files;
}

/** A deterministic generator, so a failing case can be replayed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = ["a", "Z", "0", " ", "é", "ß", "€", "中", "😀", "\u0000", "\ud800", "\n", "\"", "x".repeat(50)];

export function randomString(rnd: () => number, maxParts: number): string {
  const parts = Math.floor(rnd() * maxParts);
  let s = "";
  for (let i = 0; i < parts; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
  return s;
}

export function randomJson(rnd: () => number, depth: number): JsonValue {
  const roll = rnd();
  if (depth <= 0 || roll < 0.5) {
    const leaf = Math.floor(rnd() * 5);
    if (leaf === 0) return null;
    if (leaf === 1) return rnd() < 0.5;
    if (leaf === 2) return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 12);
    return randomString(rnd, 40);
  }
  if (roll < 0.75) return Array.from({ length: Math.floor(rnd() * 5) }, () => randomJson(rnd, depth - 1));
  return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 5) }, () => [randomString(rnd, 6), randomJson(rnd, depth - 1)]));
}

/** A 21-product search page: nested messages, maps, int64 money, timestamps, long and non-ASCII text. */
export function searchPage(): SearchProductsResponse {
  const product = (i: number) =>
    create(ProductSchema, {
      id: `0b7f3c1e-5d2a-4e8b-9c4f-1a2b3c4d5e${String(i).padStart(2, "0")}`,
      slug: `pull-en-laine-${i}`,
      name: i % 2 ? "Pull en laine mérinos 🧶" : "Linen shirt",
      // Over 16 KiB: a three-byte length prefix.
      description: "Doux, chaud et léger. ".repeat(i === 3 ? 800 : 3),
      categoryIds: ["722c01b1-9726-54b3-8700-ad6d52d9f6e4"],
      imageUrls: [`https://img.example/${i}.jpg`],
      skus: Array.from({ length: 4 }, (_, j) => ({
        code: `M${i}-${j}`,
        name: `Taille ${j}`,
        price: { amountMinor: BigInt(j === 2 ? -1 : 1000 * i + j), currencyCode: "EUR" },
        attributes: { size: String(j), colour: "bleu clair", "matière": "laine" },
        weightGrams: j * 100,
        active: j !== 1,
        inStock: j === 0,
      })),
      status: ProductStatus.ACTIVE,
      createTime: create(TimestampSchema, { seconds: BigInt(1_700_000_000 + i), nanos: 123_000_000 }),
    });
  return create(SearchProductsResponseSchema, { products: Array.from({ length: 21 }, (_, i) => product(i)), nextPageToken: "dG9rZW4" });
}

/** The messages of a proto2 file built at run time (see the file's head), by name. */
export function proto2Corpus(): { Everything: DescMessage; Wrapped: DescMessage; Structured: DescMessage; Strict: DescMessage } {
  const field = (name: string, number: number, type: string, more: JsonObject = {}): JsonObject => ({ name, number, type, label: "LABEL_OPTIONAL", ...more });
  const entry = (name: string, key: string, value: JsonObject): JsonObject => ({
    name,
    field: [field("key", 1, key), { ...field("value", 2, "TYPE_STRING"), ...value }],
    options: { mapEntry: true },
  });
  const proto = fromJson(FileDescriptorProtoSchema, {
    name: "corpus/v1/proto2.proto",
    package: "corpus.v1",
    syntax: "proto2",
    dependency: ["google/protobuf/wrappers.proto", "google/protobuf/struct.proto"],
    enumType: [{ name: "Colour", value: [{ name: "RED", number: 1 }, { name: "GREEN", number: 2 }, { name: "NEGATIVE", number: -3 }] }],
    messageType: [
      {
        name: "Everything",
        field: [
          field("colour", 1, "TYPE_ENUM", { typeName: ".corpus.v1.Colour", defaultValue: "GREEN" }),
          field("colours", 2, "TYPE_ENUM", { typeName: ".corpus.v1.Colour", label: "LABEL_REPEATED" }),
          field("count", 3, "TYPE_INT32", { defaultValue: "7" }),
          field("big", 4, "TYPE_INT64", { options: { jstype: "JS_STRING" } }),
          field("bigs", 5, "TYPE_SINT64", { label: "LABEL_REPEATED", options: { jstype: "JS_STRING" } }),
          field("packed", 6, "TYPE_INT32", { label: "LABEL_REPEATED", options: { packed: true } }),
          field("unpacked", 7, "TYPE_FIXED64", { label: "LABEL_REPEATED" }),
          field("text", 8, "TYPE_STRING", { defaultValue: "hé" }),
          field("data", 9, "TYPE_BYTES"),
          field("group", 10, "TYPE_GROUP", { typeName: ".corpus.v1.Everything.Group" }),
          field("child", 11, "TYPE_MESSAGE", { typeName: ".corpus.v1.Everything" }),
          field("by_id", 12, "TYPE_MESSAGE", { typeName: ".corpus.v1.Everything.ByIdEntry", label: "LABEL_REPEATED" }),
          field("by_flag", 13, "TYPE_MESSAGE", { typeName: ".corpus.v1.Everything.ByFlagEntry", label: "LABEL_REPEATED" }),
          field("name", 14, "TYPE_STRING", { oneofIndex: 0 }),
          field("nested", 15, "TYPE_MESSAGE", { typeName: ".corpus.v1.Everything", oneofIndex: 0 }),
          field("ratio", 16, "TYPE_DOUBLE"),
          field("small", 17, "TYPE_FLOAT"),
          field("flag", 18, "TYPE_BOOL"),
          field("u", 19, "TYPE_UINT32"),
          field("s", 20, "TYPE_SINT32"),
          field("f", 21, "TYPE_SFIXED32"),
          field("g", 22, "TYPE_SFIXED64"),
          field("h", 23, "TYPE_UINT64"),
          field("wrapped_in_oneof", 24, "TYPE_MESSAGE", { typeName: ".google.protobuf.Int32Value", oneofIndex: 0 }),
        ],
        nestedType: [
          { name: "Group", field: [field("a", 1, "TYPE_INT32"), field("b", 2, "TYPE_STRING")] },
          entry("ByIdEntry", "TYPE_INT64", { type: "TYPE_MESSAGE", typeName: ".corpus.v1.Everything" }),
          entry("ByFlagEntry", "TYPE_BOOL", { type: "TYPE_ENUM", typeName: ".corpus.v1.Colour" }),
        ],
        oneofDecl: [{ name: "choice" }],
      },
      { name: "Wrapped", field: [field("maybe", 1, "TYPE_MESSAGE", { typeName: ".google.protobuf.StringValue" })] },
      { name: "Structured", field: [field("doc", 1, "TYPE_MESSAGE", { typeName: ".google.protobuf.Struct" })] },
      { name: "Strict", field: [field("id", 1, "TYPE_INT32", { label: "LABEL_REQUIRED" }), field("note", 2, "TYPE_STRING")] },
    ],
  });
  const registry = createFileRegistry(proto, (name) =>
    name === "google/protobuf/wrappers.proto" ? file_google_protobuf_wrappers : name === "google/protobuf/struct.proto" ? file_google_protobuf_struct : undefined,
  );
  const get = (name: string) => {
    const desc = registry.getMessage(`corpus.v1.${name}`);
    if (!desc) throw new Error(`corpus.v1.${name} missing from the built file`);
    return desc;
  };
  return { Everything: get("Everything"), Wrapped: get("Wrapped"), Structured: get("Structured"), Strict: get("Strict") };
}
