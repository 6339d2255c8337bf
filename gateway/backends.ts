// The services the gateway exposes. Adding one is one line in `backends`: its methods are then
// routed, access-checked, rate limited, documented in /openapi.json and probed by /readyz, all
// from the descriptor, and `<NAME>_ADDR` appears in the config.
import type { DescService } from "@bufbuild/protobuf";
import { CartService } from "../gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb.js";
import { InventoryService } from "../gen/shop/inventory/v1/inventory_pb.js";
import { NotificationService } from "../gen/shop/notification/v1/notification_pb.js";
import { OrderService } from "../gen/shop/order/v1/order_pb.js";
import { PaymentService } from "../gen/shop/payment/v1/payment_pb.js";
import { PromotionService } from "../gen/shop/promotion/v1/promotion_pb.js";
import { ReviewsService } from "../gen/shop/reviews/v1/reviews_pb.js";
import { ShippingService } from "../gen/shop/shipping/v1/shipping_pb.js";
import { UsersService } from "../gen/shop/users/v1/users_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { createClient, type CallOptions, type ClientControl } from "../platform/grpc/index.js";
import { createHealthProbe, type HealthProbe } from "./health.js";

export interface BackendSpec {
  /** Short name: `<NAME>_ADDR`, logs, spans, /readyz. */
  readonly name: string;
  readonly service: DescService;
  readonly defaultPort: number;
  /**
   * Read methods whose anonymous answers are the same for everyone, so shared caches (and the
   * gateway itself) may keep them for PUBLIC_CACHE_MAX_AGE. Everything else is private, no-store:
   * a PUBLIC read such as GetCart still carries a guest's cart token.
   */
  readonly publicReads?: readonly string[];
  /**
   * A backend a shop may run without (its `<NAME>_ADDR` is then `off`): why it can be off, which
   * its RPCs answer as UNAVAILABLE, e.g. "the reviews service runs only with MongoDB".
   */
  readonly optional?: string;
}

/** The `<NAME>_ADDR` of an optional backend that this shop runs without. */
export const BACKEND_OFF = "off";

export const backends: readonly BackendSpec[] = [
  { name: "users", service: UsersService, defaultPort: 50051, publicReads: ["GetJwks"] },
  {
    name: "catalog",
    service: CatalogService,
    defaultPort: 50052,
    publicReads: ["GetProduct", "ListProducts", "SearchProducts", "ListRelatedProducts", "ListCategories"],
  },
  { name: "cart", service: CartService, defaultPort: 50053 },
  { name: "inventory", service: InventoryService, defaultPort: 50054 },
  { name: "promotion", service: PromotionService, defaultPort: 50055 },
  { name: "order", service: OrderService, defaultPort: 50056 },
  { name: "payment", service: PaymentService, defaultPort: 50057 },
  { name: "shipping", service: ShippingService, defaultPort: 50058, publicReads: ["QuoteShipping"] },
  { name: "notification", service: NotificationService, defaultPort: 50059 },
  {
    name: "reviews",
    service: ReviewsService,
    defaultPort: 50060,
    publicReads: ["GetReview", "ListProductReviews", "GetRatingSummary", "SearchReviews"],
    optional: "the reviews service runs only with MongoDB (set MONGODB_URL)",
  },
];

/** A platform client seen through the descriptor: one function per method, by localName. */
export type MethodCaller = (request: unknown, opts?: CallOptions) => Promise<unknown> | AsyncIterable<unknown>;
export type GenericClient = Readonly<Record<string, MethodCaller | undefined>> & ClientControl;

export interface Backend extends BackendSpec {
  /** Set when this shop runs without the backend: the message its RPCs answer UNAVAILABLE with. */
  readonly off?: string;
  readonly address: string;
  readonly client: GenericClient;
  readonly health: HealthProbe;
  close(): void;
}

export interface ConnectOptions {
  /** The `<NAME>_ADDR` of a backend. */
  readonly addressOf: (name: string) => string;
  /** Longest call to a backend. */
  readonly timeoutMs: number;
}

/** One platform client (deadlines, retries, breaker) and one health probe per backend. */
export function connectBackends(specs: readonly BackendSpec[], opts: ConnectOptions): Backend[] {
  // Checked before any channel opens, so a refused start leaves nothing behind.
  const required = specs.find((spec) => !spec.optional && opts.addressOf(spec.name) === BACKEND_OFF);
  if (required) throw new Error(`${required.name} cannot be off: the shop does not work without it`);
  return specs.map((spec) => {
    const address = opts.addressOf(spec.name);
    if (spec.optional && address === BACKEND_OFF) return offBackend(spec, `${spec.name} is off in this shop: ${spec.optional}`);
    const client = createClient(spec.service, { service: "gateway", name: spec.name, address, timeoutMs: opts.timeoutMs }) as unknown as GenericClient;
    const health = createHealthProbe(address, spec.service.typeName);
    return {
      ...spec,
      address,
      client,
      health,
      close() {
        client.close();
        health.close();
      },
    };
  });
}

/** A backend this shop runs without: no channel, no probe; its calls fail at once with `message`. */
function offBackend(spec: BackendSpec, message: string): Backend {
  const fail = (): never => {
    throw new ConnectError(message, Code.Unavailable);
  };
  const methods = Object.fromEntries(spec.service.methods.map((m) => [m.localName, fail]));
  const client = { ...methods, breakerState: () => "open", close: () => undefined } as unknown as GenericClient;
  return { ...spec, off: message, address: BACKEND_OFF, client, health: { check: () => Promise.resolve("OFF"), close: () => undefined }, close: () => undefined };
}
