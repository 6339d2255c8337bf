import assert from "node:assert/strict";
import { create, fromBinary, fromJson, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { EmptySchema, FileDescriptorProtoSchema, SourceCodeInfoSchema, StructSchema } from "@bufbuild/protobuf/wkt";
import { SearchProductsResponseSchema } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { OrderPlacedSchema } from "../../gen/shop/order/v1/events_pb.js";
import { encodeBinary } from "../binary-encoding.js";
import { prng, randomJson, randomString, searchPage, shopFiles } from "../testing/protobuf-corpus.js";

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

  it("refuses what toBinary refuses, naming the field", () => {
    const bad = create(SourceCodeInfoSchema, { location: [{ path: [2 ** 31] }] });
    assert.throws(() => toBinary(SourceCodeInfoSchema, bad));
    assert.throws(() => encodeBinary(SourceCodeInfoSchema, bad), /google\.protobuf\.SourceCodeInfo\.Location\.path/);
  });
});
