import assert from "node:assert/strict";
import { create, fromBinary, fromJson, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { EmptySchema, FileDescriptorProtoSchema, SourceCodeInfoSchema, StructSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { SearchProductsResponseSchema } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { OrderPlacedSchema } from "../../gen/shop/order/v1/events_pb.js";
import { decodeBinary, decodesDirectly } from "../binary-decoding.js";
import { encodeBinary } from "../binary-encoding.js";
import { prng, proto2Corpus, randomJson, randomString, searchPage, shopFiles } from "../testing/protobuf-corpus.js";

/** Holds decodeBinary to fromBinary's message for the same bytes (prototypes, own properties, unknown fields and all). */
function sameMessage(schema: DescMessage, bytes: Uint8Array): MessageShape<DescMessage> {
  const expected = fromBinary(schema, bytes);
  const actual = decodeBinary(schema, bytes);
  assert.deepStrictEqual(actual, expected);
  assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected));
  return actual;
}

/** Holds both to the same failure (or both to success) on bytes that may be malformed. */
function sameOutcome(schema: DescMessage, bytes: Uint8Array): void {
  let expected: unknown;
  try {
    expected = fromBinary(schema, bytes);
  } catch (err) {
    assert.throws(() => decodeBinary(schema, bytes), { message: (err as Error).message });
    return;
  }
  assert.deepStrictEqual(decodeBinary(schema, bytes), expected);
}

const writer = () => new BinaryWriter();

describe("binary decoding (decodeBinary, without the reflection API)", () => {
  it("reads the same messages as fromBinary for the descriptor of every file of the shop's contracts (proto2, defaults on the prototype)", async () => {
    const files = await shopFiles();
    assert.ok(files.length >= 20, `found only ${files.length} generated files`);
    assert.ok(decodesDirectly(FileDescriptorProtoSchema) && decodesDirectly(SearchProductsResponseSchema) && decodesDirectly(StructSchema));
    for (const file of files) sameMessage(FileDescriptorProtoSchema, toBinary(FileDescriptorProtoSchema, file.proto));
  });

  it("reads the same search page, from a Buffer and from a plain Uint8Array, and the empty page", () => {
    const bytes = encodeBinary(SearchProductsResponseSchema, searchPage());
    const page = sameMessage(SearchProductsResponseSchema, Buffer.from(bytes));
    sameMessage(SearchProductsResponseSchema, new Uint8Array(bytes));
    assert.deepEqual(page, searchPage());
    sameMessage(SearchProductsResponseSchema, new Uint8Array(0));
  });

  it("reads events, packed lists of negative numbers and Structs from 500 random JSON documents", () => {
    sameMessage(OrderPlacedSchema, toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { order: { id: "o-1", userId: "u-1", lines: [{ sku: "S-1", quantity: 2 }] } })));
    sameMessage(SourceCodeInfoSchema, toBinary(SourceCodeInfoSchema, create(SourceCodeInfoSchema, { location: [{ path: [-1, 0, 2 ** 31 - 1, -(2 ** 31)], span: [1, 2, 3] }] })));
    const rnd = prng(20261204);
    for (let i = 0; i < 500; i++) {
      const doc = { root: randomJson(rnd, 4), [randomString(rnd, 3)]: randomJson(rnd, 3) };
      sameMessage(StructSchema, toBinary(StructSchema, fromJson(StructSchema, doc)));
    }
  });

  it("keeps unknown fields as the same byte views, so they encode back to the same bytes", () => {
    const bytes = toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { order: { id: "o-1", userId: "u-1", lines: [{ sku: "S-1", quantity: 2 }] } }));
    const foreign = sameMessage(EmptySchema, bytes);
    assert.ok((foreign.$unknown ?? []).length > 0);
    assert.deepEqual(Buffer.from(encodeBinary(EmptySchema, foreign as MessageShape<typeof EmptySchema>)), Buffer.from(bytes));
  });

  it("merges what the wire repeats: a message field twice, list items appended, map keys overwritten, the last oneof member", () => {
    const one = toBinary(SearchProductsResponseSchema, create(SearchProductsResponseSchema, { products: [{ id: "a", skus: [{ code: "A", attributes: { size: "S" } }] }], nextPageToken: "x" }));
    const two = toBinary(SearchProductsResponseSchema, create(SearchProductsResponseSchema, { products: [{ id: "b" }], nextPageToken: "y" }));
    sameMessage(SearchProductsResponseSchema, Buffer.concat([one, two]));
    const { Everything } = proto2Corpus();
    const child = (count: number) => writer().tag(11, WireType.LengthDelimited).fork().tag(3, WireType.Varint).int32(count).join().finish();
    const entry = (key: bigint, text: string) =>
      writer().tag(12, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(key).tag(2, WireType.LengthDelimited).fork().tag(8, WireType.LengthDelimited).string(text).join().join().finish();
    const nested = writer().tag(15, WireType.LengthDelimited).fork().tag(8, WireType.LengthDelimited).string("in oneof").join().finish();
    const name = writer().tag(14, WireType.LengthDelimited).string("named").finish();
    const merged = sameMessage(Everything, Buffer.concat([child(1), entry(5n, "first"), nested, entry(5n, "second"), child(2), nested, name]));
    assert.equal((merged as unknown as { choice: { case: string } }).choice.case, "name");
  });

  it("reads proto2: closed enums (unknown numbers kept as unknown fields), groups, defaults, int64 as strings, packed and unpacked lists, map keys of every kind", () => {
    const { Everything } = proto2Corpus();
    assert.ok(decodesDirectly(Everything));
    const w = writer()
      .tag(1, WireType.Varint).int32(2)
      .tag(2, WireType.Varint).int32(99) // a list of a closed enum takes any number, as fromBinary does
      .tag(4, WireType.Varint).int64(-(2n ** 63n))
      .tag(5, WireType.Varint).sint64(-5n).tag(5, WireType.Varint).sint64(2n ** 62n)
      .tag(6, WireType.LengthDelimited).fork().int32(-1).int32(300).join()
      .tag(6, WireType.Varint).int32(4) // unpacked on the wire for a packed field: still read
      .tag(7, WireType.Bit64).fixed64(2n ** 64n - 1n)
      .tag(7, WireType.LengthDelimited).fork().fixed64(1n).fixed64(2n).join() // packed for an unpacked one
      .tag(9, WireType.LengthDelimited).bytes(new Uint8Array([0, 255]))
      .tag(10, WireType.StartGroup).tag(1, WireType.Varint).int32(42).tag(2, WireType.LengthDelimited).string("g").tag(10, WireType.EndGroup)
      .tag(13, WireType.LengthDelimited).fork().tag(1, WireType.Varint).bool(true).tag(2, WireType.Varint).int32(1).join()
      .tag(13, WireType.LengthDelimited).fork().join() // an entry with neither key nor value
      .tag(12, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(-7n).join() // a message value missing
      .tag(16, WireType.Bit64).double(-0.5).tag(17, WireType.Bit32).float(1.5).tag(18, WireType.Varint).bool(true)
      .tag(19, WireType.Varint).uint32(2 ** 32 - 1).tag(20, WireType.Varint).sint32(-9).tag(21, WireType.Bit32).sfixed32(-2)
      .tag(22, WireType.Bit64).sfixed64(-3n).tag(23, WireType.Varint).uint64(2n ** 64n - 1n)
      .tag(99, WireType.Bit32).fixed32(1); // unknown
    sameMessage(Everything, w.finish());
    // An unknown number of a closed enum goes to the unknown fields, negative ones as ten bytes.
    sameMessage(Everything, writer().tag(1, WireType.Varint).int32(5).finish());
    sameMessage(Everything, writer().tag(1, WireType.Varint).int32(-4).finish());
    // Nothing on the wire: every default from the prototype.
    const empty = sameMessage(Everything, new Uint8Array(0)) as unknown as { colour: number; count: number; text: string };
    assert.deepEqual([empty.colour, empty.count, empty.text], [2, 7, "hé"]);
  });

  it("leaves message types with wrapper or Struct fields to fromBinary (protobuf-es unwraps those), and reads a wrapper in a oneof itself", () => {
    const { Wrapped, Structured, Everything } = proto2Corpus();
    assert.deepEqual([decodesDirectly(Wrapped), decodesDirectly(Structured), decodesDirectly(Everything)], [false, false, true]);
    const wrapped = sameMessage(Wrapped, writer().tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("text").join().finish());
    assert.equal((wrapped as unknown as { maybe: string }).maybe, "text");
    const doc = toBinary(StructSchema, fromJson(StructSchema, { a: [1, "b"] }));
    const structured = sameMessage(Structured, writer().tag(1, WireType.LengthDelimited).bytes(doc).finish());
    assert.deepEqual((structured as unknown as { doc: unknown }).doc, { a: [1, "b"] });
    sameMessage(Everything, writer().tag(24, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(3).join().finish());
  });

  it("validates UTF-8 where the contract asks (proto3) and substitutes where it does not (proto2), as fromBinary does", () => {
    const invalid = new Uint8Array([0xc3, 0x28]);
    const proto3 = writer().tag(2, WireType.LengthDelimited).bytes(invalid).finish(); // nextPageToken
    assert.throws(() => fromBinary(SearchProductsResponseSchema, proto3));
    assert.throws(() => decodeBinary(SearchProductsResponseSchema, proto3));
    sameMessage(SearchProductsResponseSchema, writer().tag(2, WireType.LengthDelimited).string("a real \ufffd and é").finish());
    const { Everything } = proto2Corpus();
    sameMessage(Everything, writer().tag(8, WireType.LengthDelimited).bytes(invalid).finish());
  });

  it("fails where fromBinary fails, with its message: truncated input, bad tags, bad groups, runaway nesting", () => {
    const page = encodeBinary(SearchProductsResponseSchema, searchPage());
    for (const cut of [1, 2, 7, 100, 1000, page.length - 1]) sameOutcome(SearchProductsResponseSchema, page.subarray(0, cut));
    sameOutcome(SearchProductsResponseSchema, new Uint8Array([0x00]));
    sameOutcome(SearchProductsResponseSchema, new Uint8Array([0x0f, 0x01]));
    sameOutcome(SearchProductsResponseSchema, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    const { Everything } = proto2Corpus();
    sameOutcome(Everything, writer().tag(10, WireType.StartGroup).tag(1, WireType.Varint).int32(1).tag(11, WireType.EndGroup).finish());
    sameOutcome(Everything, writer().tag(10, WireType.StartGroup).tag(1, WireType.Varint).int32(1).finish());
    let deep = writer().tag(3, WireType.Varint).int32(1).finish();
    for (let i = 0; i < 120; i++) deep = writer().tag(11, WireType.LengthDelimited).bytes(deep).finish();
    sameOutcome(Everything, deep);
    // Random corruption of a real page: whatever fromBinary makes of it, so does decodeBinary.
    const rnd = prng(7);
    for (let i = 0; i < 300; i++) {
      const bytes = new Uint8Array(page.subarray(0, 600));
      for (let j = 0; j < 3; j++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
      sameOutcome(SearchProductsResponseSchema, bytes);
    }
  });

  it("reads well-known types as messages, as fromBinary does", () => {
    sameMessage(TimestampSchema, toBinary(TimestampSchema, create(TimestampSchema, { seconds: -62135596800n, nanos: 999_999_999 })));
  });
});
