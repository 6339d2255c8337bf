import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { create, fromBinary, toBinary, type DescFile, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { EmptySchema, FileDescriptorProtoSchema, SourceCodeInfoSchema, StructSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { SearchProductsResponseSchema } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { ProductSchema, ProductStatus } from "../../gen/shop/catalog/v1/product_pb.js";
import { OrderPlacedSchema } from "../../gen/shop/order/v1/events_pb.js";
import { encodeBinary } from "../binary-encoding.js";
import { repoRoot } from "../paths.js";

/** Holds encodeBinary to toBinary's bytes, and checks they decode back to the message. */
function sameBytes<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): void {
  const expected = toBinary(schema, message);
  const actual = encodeBinary(schema, message);
  assert.deepEqual(Buffer.from(actual), Buffer.from(expected));
}

/** Every generated file of the shop's contracts (gen/), for their descriptors as a corpus. */
async function shopFiles(): Promise<DescFile[]> {
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
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = ["a", "Z", "0", " ", "é", "ß", "€", "中", "😀", "\u0000", "\ud800", "\n", "\"", "x".repeat(50)];

function randomString(rnd: () => number, maxParts: number): string {
  const parts = Math.floor(rnd() * maxParts);
  let s = "";
  for (let i = 0; i < parts; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
  return s;
}

function randomJson(rnd: () => number, depth: number): JsonValue {
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

describe("binary encoding (encodeBinary, the flat-buffer writer)", () => {
  it("writes the same bytes as toBinary for the descriptor of every file of the shop's contracts", async () => {
    const files = await shopFiles();
    assert.ok(files.length >= 20, `found only ${files.length} generated files`);
    for (const file of files) sameBytes(FileDescriptorProtoSchema, file.proto);
  });

  it("writes the same bytes for a search page: nested messages, maps, int64 money, timestamps, long and non-ASCII text", () => {
    const product = (i: number) =>
      create(ProductSchema, {
        id: `0b7f3c1e-5d2a-4e8b-9c4f-1a2b3c4d5e${String(i).padStart(2, "0")}`,
        slug: `pull-en-laine-${i}`,
        name: i % 2 ? "Pull en laine mérinos 🧶" : "Linen shirt",
        // Over 16 KiB: a three-byte length prefix, moved into place behind the text.
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
    sameBytes(SearchProductsResponseSchema, create(SearchProductsResponseSchema, { products: Array.from({ length: 21 }, (_, i) => product(i)), nextPageToken: "dG9rZW4" }));
    sameBytes(SearchProductsResponseSchema, create(SearchProductsResponseSchema, {}));
  });

  it("writes the same bytes for packed lists of negative numbers (ten-byte varints) and for events", () => {
    sameBytes(
      SourceCodeInfoSchema,
      create(SourceCodeInfoSchema, { location: [{ path: [-1, 0, 2 ** 31 - 1, -(2 ** 31)], span: [1, 2, 3], leadingComments: "a\ncomment" }, { path: [] }] }),
    );
    sameBytes(OrderPlacedSchema, create(OrderPlacedSchema, { order: { id: "o-1", userId: "u-1", lines: [{ sku: "S-1", quantity: 2 }] } }));
  });

  it("keeps unknown fields, as toBinary does", () => {
    // An event's bytes read as google.protobuf.Empty: every field is unknown to it.
    const bytes = toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { order: { id: "o-1", userId: "u-1", lines: [{ sku: "S-1", quantity: 2 }] } }));
    const foreign = fromBinary(EmptySchema, bytes);
    assert.ok((foreign.$unknown ?? []).length > 0);
    sameBytes(EmptySchema, foreign);
    assert.deepEqual(Buffer.from(encodeBinary(EmptySchema, foreign)), Buffer.from(bytes));
  });

  it("writes the same bytes for 500 random JSON documents as Structs (doubles, oneofs, maps, lone surrogates)", () => {
    const rnd = prng(20261203);
    for (let i = 0; i < 500; i++) {
      const doc = { root: randomJson(rnd, 4), [randomString(rnd, 3)]: randomJson(rnd, 3) };
      sameBytes(StructSchema, fromJson(StructSchema, doc));
    }
  });

  it("refuses what toBinary refuses, naming the field", () => {
    const bad = create(SourceCodeInfoSchema, { location: [{ path: [2 ** 31] }] });
    assert.throws(() => toBinary(SourceCodeInfoSchema, bad));
    assert.throws(() => encodeBinary(SourceCodeInfoSchema, bad), /google\.protobuf\.SourceCodeInfo\.Location\.path/);
  });
});
