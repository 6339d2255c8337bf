import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { ChannelCredentials, Client, Metadata, makeClientConstructor, type ServiceClientConstructor } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { startCatalog, type RunningCatalog } from "./helpers.js";

const CATALOG = "shop.catalog.v1.CatalogService";

describe("grpc health", () => {
  let catalog: RunningCatalog;
  let dbUp: boolean;
  let health: InstanceType<ServiceClientConstructor>;

  beforeEach(async () => {
    dbUp = false;
    catalog = await startCatalog({}, { readiness: [{ name: "postgres", check: async () => dbUp }], readinessIntervalMs: 60_000 });
    const Health = makeClientConstructor(healthService, "Health");
    health = new Health(catalog.address, ChannelCredentials.createInsecure());
  });
  afterEach(async () => {
    health.close();
    await catalog.stop();
  });

  const check = (service: string) =>
    new Promise<string>((resolve, reject) => {
      (health as unknown as { check: (req: object, cb: (err: Error | null, res: { status: string }) => void) => void }).check(
        { service },
        (err, res) => (err ? reject(err) : resolve(res.status)),
      );
    });

  it("is NOT_SERVING while a readiness check fails and SERVING once it passes", async () => {
    await catalog.server.checkReadiness();
    assert.equal(await check(""), "NOT_SERVING");
    assert.equal(await check(CATALOG), "NOT_SERVING");

    dbUp = true;
    assert.equal(await catalog.server.checkReadiness(), true);
    assert.equal(await check(""), "SERVING");
    assert.equal(await check(CATALOG), "SERVING");

    dbUp = false;
    await catalog.server.checkReadiness();
    assert.equal(await check(CATALOG), "NOT_SERVING");
  });

  it("goes NOT_SERVING for good when shutdown begins", async () => {
    dbUp = true;
    await catalog.server.checkReadiness();
    // A Watch stream opened before shutdown sees the flip (new calls are refused by then).
    const watch = (health as unknown as { watch: (req: object) => import("node:stream").Readable }).watch({ service: "" });
    const seen: string[] = [];
    const flipped = new Promise<void>((resolve) => {
      watch.on("data", (res: { status: string }) => {
        seen.push(res.status);
        if (res.status === "NOT_SERVING") resolve();
      });
      watch.on("error", () => undefined); // ended by the shutdown
    });
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    const stopping = catalog.server.shutdown(200);
    await flipped;
    assert.deepEqual(seen, ["SERVING", "NOT_SERVING"]);
    // Checks keep passing, but a server on its way out never reports ready again.
    assert.equal(await catalog.server.checkReadiness(), false);
    await stopping;
  });
});

describe("grpc reflection", () => {
  let catalog: RunningCatalog;
  beforeEach(async () => (catalog = await startCatalog({})));
  afterEach(() => catalog.stop());

  it("lists the services", async () => {
    const res = await reflect(catalog.address, 7, "*");
    const names = fields(fields(res, 6)[0]!, 1).map((svc) => new TextDecoder().decode(fields(svc, 1)[0]));
    assert.deepEqual(names, [CATALOG]);
  });

  it("returns the file declaring a service, and every file it imports", async () => {
    const res = await reflect(catalog.address, 4, CATALOG);
    const files = fields(fields(res, 4)[0]!, 1).map((b) => fromBinary(FileDescriptorProtoSchema, b));
    const byName = new Map<string, FileDescriptorProto>(files.map((f) => [f.name, f]));
    const catalogFile = byName.get("shop/catalog/v1/catalog.proto");
    assert.ok(catalogFile, [...byName.keys()].join(", "));
    assert.deepEqual(catalogFile.service.map((s) => s.name), ["CatalogService"]);
    assert.ok(catalogFile.service[0]!.method.some((m) => m.name === "GetProduct"));
    assert.ok(byName.has("shop/common/v1/money.proto"), "files of referenced types come along");
    // Imports used only for options (buf/validate) are fetched by name, as grpcurl does.
    assert.ok(catalogFile.dependency.includes("buf/validate/validate.proto"));
    for (const dep of catalogFile.dependency) {
      const byFile = await reflect(catalog.address, 3, dep);
      const served = fields(fields(byFile, 4)[0]!, 1).map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
      assert.equal(served[0], dep);
    }
  });
});

/**
 * One request on grpc.reflection.v1.ServerReflection/ServerReflectionInfo, hand-encoded: the
 * request is `{ <field>: <value> }` (7 = list_services, 4 = file_containing_symbol, 3 = file_by_filename).
 */
async function reflect(address: string, field: number, value: string): Promise<Uint8Array> {
  const client = new Client(address, ChannelCredentials.createInsecure());
  const identity = (b: Buffer) => b;
  try {
    const call = client.makeBidiStreamRequest<Buffer, Buffer>("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", identity, identity, new Metadata());
    const request = new BinaryWriter().tag(field, WireType.LengthDelimited).string(value).finish();
    const response = new Promise<Buffer>((resolve, reject) => {
      call.once("data", resolve);
      call.once("error", reject);
    });
    call.write(Buffer.from(request));
    call.end();
    const res = await response;
    const error = fields(res, 7)[0];
    if (error) throw new Error(`reflection error: ${new TextDecoder().decode(fields(error, 2)[0])}`);
    return res;
  } finally {
    client.close();
  }
}

/** The length-delimited values of field `no` in a message. */
function fields(bytes: Uint8Array, no: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [n, wt] = r.tag();
    if (n === no && wt === WireType.LengthDelimited) out.push(r.bytes());
    else r.skip(wt, n);
  }
  return out;
}
