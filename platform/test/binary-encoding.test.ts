import assert from "node:assert/strict";
import { create, fromBinary, fromJson, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { EmptySchema, FileDescriptorProtoSchema, SourceCodeInfoSchema, StructSchema } from "@bufbuild/protobuf/wkt";
import { SearchProductsResponseSchema } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { OrderPlacedSchema } from "../../gen/shop/order/v1/events_pb.js";
import { encodeBinary } from "../binary-encoding.js";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { prng, proto2Corpus, randomJson, randomString, searchPage, shopFiles } from "../testing/protobuf-corpus.js";

/** Holds encodeBinary to toBinary's bytes, and checks they decode back to the message. */
function sameBytes<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): void {
  const expected = toBinary(schema, message);
  const actual = encodeBinary(schema, message);
  assert.deepEqual(Buffer.from(actual), Buffer.from(expected));
}

describe("binary encoding (encodeBinary, the flat-buffer writer)", () => {
  it("writes the same bytes as toBinary for the descriptor of every file of the shop's contracts", async () => {
    const files = await shopFiles();
    assert.ok(files.length >= 20, `found only ${files.length} generated files`);
    for (const file of files) sameBytes(FileDescriptorProtoSchema, file.proto);
  });

  it("writes the same bytes for a search page: nested messages, maps, int64 money, timestamps, long and non-ASCII text", () => {
    sameBytes(SearchProductsResponseSchema, searchPage());
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

  it("writes the same bytes for proto2: groups, closed enums, defaults left out, explicit zeros kept, int64 as strings, map keys of every kind, a oneof", () => {
    const { Everything, Wrapped, Structured, Strict } = proto2Corpus();
    const wire = new BinaryWriter()
      .tag(1, WireType.Varint).int32(1).tag(2, WireType.Varint).int32(-3).tag(3, WireType.Varint).int32(0) // an explicit zero is written
      .tag(4, WireType.Varint).int64(-(2n ** 63n)).tag(5, WireType.Varint).sint64(-5n)
      .tag(6, WireType.LengthDelimited).fork().int32(-1).int32(300).join().tag(7, WireType.Bit64).fixed64(2n ** 64n - 1n)
      .tag(9, WireType.LengthDelimited).bytes(new Uint8Array(0))
      .tag(10, WireType.StartGroup).tag(1, WireType.Varint).int32(42).tag(10, WireType.EndGroup)
      .tag(11, WireType.LengthDelimited).fork().tag(8, WireType.LengthDelimited).string("child").join()
      .tag(12, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(-7n).tag(2, WireType.LengthDelimited).fork().join().join()
      .tag(13, WireType.LengthDelimited).fork().tag(1, WireType.Varint).bool(true).tag(2, WireType.Varint).int32(2).join()
      .tag(13, WireType.LengthDelimited).fork().tag(1, WireType.Varint).bool(false).tag(2, WireType.Varint).int32(1).join()
      .tag(15, WireType.LengthDelimited).fork().tag(3, WireType.Varint).int32(9).join()
      .tag(16, WireType.Bit64).double(-0).tag(19, WireType.Varint).uint32(2 ** 32 - 1).tag(20, WireType.Varint).sint32(-9)
      .tag(99, WireType.Bit32).fixed32(1)
      .finish();
    sameBytes(Everything, fromBinary(Everything, wire));
    sameBytes(Everything, create(Everything));
    sameBytes(Everything, create(Everything, { big: "-12", bigs: ["1", "-2"], choice: { case: "wrappedInOneof", value: { value: 5 } } }));
    // Left to toBinary: a wrapper field unwrapped to a scalar, a Struct field as JSON.
    sameBytes(Wrapped, create(Wrapped, { maybe: "text" }));
    sameBytes(Structured, create(Structured, { doc: { a: [1, "b", null] } }));
    sameBytes(Strict, create(Strict, { id: 0 }));
    assert.throws(() => encodeBinary(Strict, create(Strict, { note: "no id" })), /required field not set/);
  });

  it("writes the same bytes for strings either side of a one-byte length, ASCII or not, and for int32 at its limits", () => {
    const texts = [39, 40, 41, 42, 43, 127, 128, 200].flatMap((n) => ["a".repeat(n), "é".repeat(n), "a".repeat(n - 1) + "€", "😀".repeat(Math.ceil(n / 2))]);
    for (const nextPageToken of texts) sameBytes(SearchProductsResponseSchema, create(SearchProductsResponseSchema, { nextPageToken }));
    sameBytes(SourceCodeInfoSchema, create(SourceCodeInfoSchema, { location: [{ path: [2 ** 31 - 1, -(2 ** 31), 0, -1, 127, 128, 16383, 16384] }] }));
  });

  it("refuses what toBinary refuses, naming the field", () => {
    const bad = create(SourceCodeInfoSchema, { location: [{ path: [2 ** 31] }] });
    assert.throws(() => toBinary(SourceCodeInfoSchema, bad));
    assert.throws(() => encodeBinary(SourceCodeInfoSchema, bad), /google\.protobuf\.SourceCodeInfo\.Location\.path/);
  });
});
