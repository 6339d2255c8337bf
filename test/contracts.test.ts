// Contract tests: the protobuf contracts in proto/ stay lint-clean, formatted, backward compatible
// with main, faithfully generated into gen/, and follow the shop's conventions (read-only RPCs are
// NO_SIDE_EFFECTS, lists paginate, money is never a float, per-user RPCs take identity from the
// JWT, every RPC declares who may call it). The last block proves protovalidate enforces our
// annotations at run time, which also proves the locally generated buf/validate/validate.proto encodes them as the runtime expects.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import {
  create,
  createRegistry,
  equals,
  fromBinary,
  getOption,
  ScalarType,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
} from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  MethodOptions_IdempotencyLevel as Idempotency,
} from "@bufbuild/protobuf/wkt";
import { createValidator } from "@bufbuild/protovalidate";
import * as validatePb from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Access, access } from "../gen/shop/common/v1/access_pb.js";
import { CreateProductRequestSchema, ListProductsRequestSchema, UpdateProductRequestSchema } from "../gen/shop/catalog/v1/catalog_pb.js";
import { PlaceOrderRequestSchema } from "../gen/shop/order/v1/order_pb.js";
import { UpdatePromotionRequestSchema } from "../gen/shop/promotion/v1/promotion_pb.js";
import { RegisterRequestSchema } from "../gen/shop/users/v1/users_pb.js";

// This file runs as dist/test/contracts.test.js; everything is resolved from the repository root.
const root = fileURLToPath(new URL("../../", import.meta.url));
const compiledGen = fileURLToPath(new URL("../gen/", import.meta.url));

const SERVICES = [
  "users",
  "catalog",
  "cart",
  "inventory",
  "promotion",
  "order",
  "payment",
  "shipping",
  "notification",
  "reviews",
] as const;

function run(command: string, args: string[], cwd = root): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.error) throw result.error;
  return result;
}
const buf = (...args: string[]) => run(join(root, "node_modules", ".bin", "buf"), args);
const git = (...args: string[]) => run("git", args);

function assertSuccess(result: SpawnSyncReturns<string>, what: string): void {
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}${result.stderr}`);
}

/** Relative paths of all files under dir, sorted. */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

function* messagesOf(file: DescFile): Generator<DescMessage> {
  const walk = function* (m: DescMessage): Generator<DescMessage> {
    yield m;
    for (const n of m.nestedMessages) yield* walk(n);
  };
  for (const m of file.messages) yield* walk(m);
}

/** The scalar type of a field, its list items or its map values; undefined for messages and enums. */
function scalarOf(f: DescField): ScalarType | undefined {
  if (f.fieldKind === "scalar") return f.scalar;
  if (f.fieldKind === "list" && f.listKind === "scalar") return f.scalar;
  if (f.fieldKind === "map" && f.mapKind === "scalar") return f.scalar;
  return undefined;
}

function messageTypeOf(f: DescField): string | undefined {
  if (f.fieldKind === "message") return f.message.typeName;
  if (f.fieldKind === "list" && f.listKind === "message") return f.message.typeName;
  if (f.fieldKind === "map" && f.mapKind === "message") return f.message.typeName;
  return undefined;
}

describe("protobuf contracts", function () {
  // buf compiles against .proto-deps/buf/validate/validate.proto, which is gitignored: make it,
  // so that the tests also work on a fresh clone.
  before(function () {
    assertSuccess(run(process.execPath, [join(root, "scripts", "protovalidate-proto.mjs")]), "npm run proto:deps");
  });

  describe("buf", function () {
    it("lints clean with the STANDARD rules", function () {
      assertSuccess(buf("lint"), "buf lint");
    });

    it("finds every file formatted", function () {
      assertSuccess(buf("format", "--diff", "--exit-code"), "buf format --diff --exit-code (fix: npx buf format -w)");
    });

    it("generates exactly what is committed in gen/", function () {
      this.timeout(90_000); // protoc-gen-es over every contract: tens of seconds on a busy 2-core machine
      const tmp = mkdtempSync(join(tmpdir(), "shop-gen-"));
      try {
        assertSuccess(buf("generate", "--output", tmp), "buf generate");
        const fresh = join(tmp, "gen");
        const committed = join(root, "gen");
        const stale = "gen/ is stale: run `npm run generate`";
        assert.deepEqual(listFiles(committed), listFiles(fresh), stale);
        for (const file of listFiles(fresh)) {
          const same = readFileSync(join(fresh, file)).equals(readFileSync(join(committed, file)));
          assert.ok(same, `${stale} (gen/${file} differs)`);
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });

    it("makes no breaking change against main", function () {
      const ref = ["main", "origin/main"].find((r) => git("rev-parse", "--verify", "--quiet", `${r}^{commit}`).status === 0);
      const skip = (why: string) => {
        if (this.test) this.test.title += ` (skipped: ${why})`;
        this.skip();
      };
      if (ref === undefined) return skip("no main branch to compare with");
      const protoFiles = git("ls-tree", "-r", "--name-only", ref, "--", "proto")
        .stdout.split("\n")
        .filter((f) => f.endsWith(".proto"));
      if (protoFiles.length === 0) return skip(`${ref} has no proto/ yet, so nothing can break`);

      // `buf breaking --against .git#branch=main` would miss .proto-deps (gitignored, generated),
      // and main's files import buf/validate/validate.proto. So rebuild main's workspace in a
      // temporary directory from git objects (read-only), with today's generated dependency.
      const against = mkdtempSync(join(tmpdir(), "shop-main-"));
      try {
        for (const file of [...protoFiles, "buf.yaml"]) {
          const content: SpawnSyncReturns<Buffer> = spawnSync("git", ["show", `${ref}:${file}`], { cwd: root });
          assert.equal(content.status, 0, `git show ${ref}:${file}`);
          mkdirSync(dirname(join(against, file)), { recursive: true });
          writeFileSync(join(against, file), content.stdout);
        }
        cpSync(join(root, ".proto-deps"), join(against, ".proto-deps"), { recursive: true });
        assertSuccess(buf("breaking", "--against", against), `buf breaking against ${ref}`);
      } finally {
        rmSync(against, { recursive: true, force: true });
      }
    });

    it("builds validate.proto into the same descriptor protovalidate embeds", function () {
      const tmp = mkdtempSync(join(tmpdir(), "shop-deps-"));
      try {
        const image = join(tmp, "deps.binpb");
        assertSuccess(buf("build", ".proto-deps", "--exclude-source-info", "-o", image), "buf build .proto-deps");
        const set = fromBinary(FileDescriptorSetSchema, readFileSync(image));
        const built = set.file.find((f) => f.name === "buf/validate/validate.proto");
        assert.ok(built, "validate.proto missing from the image");
        delete built.$unknown; // buf's own image metadata (field 8042), not part of the descriptor
        const embedded = validatePb.file_buf_validate_validate.proto;
        const registry = createRegistry(validatePb.file_buf_validate_validate);
        assert.ok(
          equals(FileDescriptorProtoSchema, embedded, built, { registry, unknown: true, extensions: true }),
          "scripts/protovalidate-proto.mjs printed a validate.proto that differs from the embedded descriptor",
        );
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });

  describe("conventions, read from the generated descriptors", function () {
    const files = new Map<string, DescFile>();
    let services: DescService[] = [];
    let methods: DescMethod[] = [];
    /** RPCs that act for the caller named by the JWT, by service. */
    const perUser: Record<string, string[]> = {
      "shop.users.v1.UsersService": ["ChangePassword", "GetProfile", "UpdateProfile", "ListAddresses", "AddAddress", "UpdateAddress", "DeleteAddress"],
      "shop.cart.v1.CartService": ["GetCart", "AddItem", "UpdateItemQuantity", "RemoveItem", "ClearCart", "MergeGuestCart"],
      "shop.order.v1.OrderService": ["PlaceOrder", "PreviewCheckout", "GetOrder", "ListOrders", "CancelOrder", "RequestReturn"],
      "shop.payment.v1.PaymentService": ["CreatePaymentMethod", "ListPaymentMethods", "DeletePaymentMethod"],
      "shop.notification.v1.NotificationService": ["GetPreferences", "UpdatePreferences", "ListNotifications", "WatchOrderUpdates"],
      "shop.reviews.v1.ReviewsService": ["CreateReview", "UpdateReview", "DeleteReview"],
    };

    before(async function () {
      // Every generated module, found from gen/ itself so that new files are covered automatically.
      for (const file of listFiles(join(root, "gen"))) {
        const mod = (await import(join(compiledGen, file.replace(/\.ts$/, ".js")))) as Record<string, unknown>;
        for (const value of Object.values(mod)) {
          const desc = value as Partial<DescFile>;
          if (desc.kind === "file" && desc.name !== undefined) files.set(desc.name, value as DescFile);
        }
      }
      services = [...files.values()].flatMap((f) => f.services);
      methods = services.flatMap((s) => s.methods);
    });

    it("has a <service>.proto with a <Service>Service and an events.proto for every service", function () {
      for (const name of SERVICES) {
        const main = files.get(`shop/${name}/v1/${name}`);
        assert.ok(main, `proto/shop/${name}/v1/${name}.proto is missing`);
        const pascal = name[0]!.toUpperCase() + name.slice(1);
        assert.deepEqual(main.services.map((s) => s.typeName), [`shop.${name}.v1.${pascal}Service`]);
        const events = files.get(`shop/${name}/v1/events`);
        assert.ok(events, `proto/shop/${name}/v1/events.proto is missing`);
        assert.ok(events.messages.length > 0, `${name} events.proto declares no events`);
        assert.equal(events.services.length, 0, `${name} events.proto must not declare services`);
        for (const m of events.messages) {
          assert.doesNotMatch(m.name, /(Request|Response)$/, `${m.typeName} looks like an RPC message, not an event`);
        }
      }
    });

    it("names every service *Service in a versioned shop package", function () {
      assert.ok(services.length >= SERVICES.length);
      for (const s of services) {
        assert.match(s.typeName, /^shop\.[a-z]+\.v\d+\.[A-Z][A-Za-z]*Service$/);
      }
    });

    it("marks read-only RPCs NO_SIDE_EFFECTS, and only those", function () {
      const readOnly = /^(Get|List|Search|Quote|Preview|Evaluate|BatchGet|Watch)/;
      for (const m of methods) {
        const name = `${m.parent.typeName}.${m.name}`;
        if (readOnly.test(m.name)) {
          assert.equal(m.idempotency, Idempotency.NO_SIDE_EFFECTS, `${name} reads only: mark it NO_SIDE_EFFECTS`);
        } else {
          // The gateway serves NO_SIDE_EFFECTS methods over cacheable HTTP GET: never for a mutation.
          assert.notEqual(m.idempotency, Idempotency.NO_SIDE_EFFECTS, `${name} mutates: it cannot be NO_SIDE_EFFECTS`);
        }
      }
    });

    it("paginates every List and Search RPC with a capped page_size", function () {
      const lists = methods.filter((m) => /^(List|Search)/.test(m.name));
      assert.ok(lists.length > 10);
      for (const m of lists) {
        const name = `${m.parent.typeName}.${m.name}`;
        const pageSize = m.input.field["pageSize"];
        assert.ok(pageSize && scalarOf(pageSize) === ScalarType.INT32, `${name} request needs int32 page_size`);
        const rules = getOption(pageSize, validatePb.field);
        const lte = rules.type.case === "int32" && rules.type.value.lessThan.case === "lte" ? rules.type.value.lessThan.value : undefined;
        assert.ok(lte !== undefined && lte <= 1000, `${name} page_size needs an int32.lte cap`);
        const pageToken = m.input.field["pageToken"];
        assert.ok(pageToken && scalarOf(pageToken) === ScalarType.STRING, `${name} request needs string page_token`);
        const next = m.output.field["nextPageToken"];
        assert.ok(next && scalarOf(next) === ScalarType.STRING, `${name} response needs string next_page_token`);
      }
    });

    it("never uses floating point for money (or anything else not justified)", function () {
      // A display statistic, never summed into money.
      const allowedFloats = new Set(["shop.reviews.v1.RatingSummary.average_rating"]);
      const moneyName = /(^|_)(price|amount|cost|subtotal|tax|spend|discount)(_|$)|(^|_)total$/;
      for (const file of files.values()) {
        for (const message of messagesOf(file)) {
          if (message.typeName === "shop.common.v1.Money") continue;
          for (const f of message.fields) {
            const name = `${message.typeName}.${f.name}`;
            const scalar = scalarOf(f);
            if (scalar === ScalarType.FLOAT || scalar === ScalarType.DOUBLE) {
              assert.ok(allowedFloats.has(name), `${name} is floating point; use shop.common.v1.Money or an integer`);
            }
            if (moneyName.test(f.name)) {
              assert.equal(messageTypeOf(f), "shop.common.v1.Money", `${name} looks like money but is not a Money`);
            }
          }
        }
      }
    });

    it("takes the caller's identity from the JWT, not from per-user requests", function () {
      for (const [serviceName, rpcs] of Object.entries(perUser)) {
        const service = services.find((s) => s.typeName === serviceName);
        assert.ok(service, `${serviceName} is missing`);
        for (const rpc of rpcs) {
          const method: DescMethod | undefined = service.methods.find((m) => m.name === rpc);
          assert.ok(method, `${serviceName}.${rpc} is missing`);
          const ids: string[] = method.input.fields.map((f) => f.name).filter((n) => /^(user_id|customer_id)$/.test(n));
          assert.deepEqual(ids, [], `${serviceName}.${rpc} must not take a user id`);
        }
      }
    });

    describe("access: who may call each RPC", function () {
      // Internal methods that only read. The gateway serves NO_SIDE_EFFECTS methods as cacheable
      // GETs, so a read that no client can reach is a deliberate choice: list it here, with why.
      const internalReads = new Set([
        "shop.catalog.v1.CatalogService.BatchGetSkus", // prices for cart and order; shoppers use GetProduct
        "shop.inventory.v1.InventoryService.GetStock", // shoppers see Sku.in_stock and cart availability
        "shop.inventory.v1.InventoryService.BatchGetStock",
        "shop.promotion.v1.PromotionService.EvaluateCart", // takes a customer id; shoppers use PreviewCheckout
      ]);

      const nameOf = (m: DescMethod) => `${m.parent.typeName}.${m.name}`;

      it("is the MethodOptions extension shop.common.v1.access", function () {
        assert.equal(access.typeName, "shop.common.v1.access");
        assert.equal(access.number, 51001);
        assert.equal(access.extendee.typeName, "google.protobuf.MethodOptions");
        assert.deepEqual(
          [Access.UNSPECIFIED, Access.PUBLIC, Access.USER, Access.ADMIN, Access.INTERNAL],
          [0, 1, 2, 3, 4],
        );
      });

      it("declares an explicit level on every RPC of every service", function () {
        assert.ok(methods.length > 50, `only ${methods.length} methods found`);
        const missing = methods.filter((m) => getOption(m, access) === Access.UNSPECIFIED).map(nameOf);
        assert.deepEqual(missing, [], "add `option (shop.common.v1.access) = ACCESS_...;` to these RPCs");
        for (const m of methods) {
          assert.ok(Object.values(Access).includes(getOption(m, access)), `${nameOf(m)} has an unknown access level`);
        }
      });

      it("lets clients reach every per-user RPC (USER, or PUBLIC for guest carts)", function () {
        for (const [serviceName, rpcs] of Object.entries(perUser)) {
          for (const rpc of rpcs) {
            const method = methods.find((m) => nameOf(m) === `${serviceName}.${rpc}`);
            assert.ok(method, `${serviceName}.${rpc} is missing`);
            const level = getOption(method, access);
            assert.ok(level === Access.USER || level === Access.PUBLIC, `${nameOf(method)} acts for the caller: USER or PUBLIC, not ${Access[level]}`);
          }
        }
      });

      it("keeps read-only RPCs reachable unless listed as internal reads", function () {
        const internal = methods
          .filter((m) => m.idempotency === Idempotency.NO_SIDE_EFFECTS && getOption(m, access) === Access.INTERNAL)
          .map(nameOf)
          .sort();
        assert.deepEqual(internal, [...internalReads].sort(), "an internal read-only RPC must be listed in internalReads (and only those)");
      });
    });
  });

  describe("protovalidate enforces the annotations at run time", function () {
    const validator = createValidator();

    /** "field.path [rule.id]" for each violation, for readable assertions. */
    function violations<Desc extends DescMessage>(schema: Desc, message: Parameters<typeof validator.validate<Desc>>[1]): string[] {
      const result = validator.validate(schema, message);
      if (result.kind === "error") throw result.error;
      return result.kind === "valid" ? [] : result.violations.map((v) => `${pathToString(v.field)} [${v.ruleId}]`);
    }

    it("rejects a malformed email and accepts a good registration", function () {
      const good = { email: "ada@example.com", password: "correct horse battery", displayName: "Ada" };
      assert.deepEqual(violations(RegisterRequestSchema, create(RegisterRequestSchema, good)), []);
      const bad = create(RegisterRequestSchema, { ...good, email: "ada-at-example.com" });
      assert.deepEqual(violations(RegisterRequestSchema, bad), ["email [string.email]"]);
    });

    it("checks nested messages, required fields and enums", function () {
      const bad = create(PlaceOrderRequestSchema, {
        idempotencyKey: "2b4f7a9e-6c1d-4e8a-9f3b-0d2c5e7a1b6f",
        paymentMethodToken: "pm_123",
        billingAddress: { recipientName: "Ada", line1: "1 Main St", city: "Springfield", countryCode: "usa" },
      });
      assert.deepEqual(violations(PlaceOrderRequestSchema, bad), [
        "shipping_address [required]",
        "billing_address.country_code [string.pattern]",
        "shipping_speed [enum.not_in]",
      ]);
    });

    it("applies our own CEL rules on fields and messages", function () {
      const product = create(CreateProductRequestSchema, {
        slug: "linen-shirt",
        name: "Linen shirt",
        skus: [{ code: "SHIRT-M", price: { amountMinor: -1n, currencyCode: "EUR" } }],
      });
      assert.deepEqual(violations(CreateProductRequestSchema, product), ["skus[0].price [money.non_negative]"]);

      const rename = create(UpdateProductRequestSchema, {
        id: "0b5cf1d2-97a3-4c47-8d0e-3a2b1c4d5e6f",
        product: { name: "" },
        updateMask: { paths: ["name"] },
      });
      assert.deepEqual(violations(UpdateProductRequestSchema, rename), [" [update_product.name_required]"]);

      const noPromotion = create(UpdatePromotionRequestSchema, {
        id: "0b5cf1d2-97a3-4c47-8d0e-3a2b1c4d5e6f",
        updateMask: { paths: ["name"] },
      });
      assert.deepEqual(violations(UpdatePromotionRequestSchema, noPromotion), [" [update_promotion.promotion_required]"]);
    });

    it("caps page sizes", function () {
      assert.deepEqual(violations(ListProductsRequestSchema, create(ListProductsRequestSchema, { pageSize: 100 })), []);
      assert.deepEqual(violations(ListProductsRequestSchema, create(ListProductsRequestSchema, { pageSize: 101 })), ["page_size [int32.gte_lte]"]);
    });
  });
});
