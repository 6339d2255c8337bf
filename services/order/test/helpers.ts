// Small named fixtures for the order service tests: every peer as a real gRPC test double,
// the order service on a real port against its own real PostgreSQL database (in this process,
// or as its own process through its real main.js for crash tests), shoppers with carts and
// tokens, and readers of what the service stored and enqueued.
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { randomUUID } from "node:crypto";
import { type MessageInitShape } from "@bufbuild/protobuf";
import { ShippingSpeed } from "../../../gen/shop/common/v1/shipping_speed_pb.js";
import { OrderService, type PlaceOrderRequestSchema } from "../../../gen/shop/order/v1/order_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { createClient, type CallOptions, type ServiceClient } from "../../../platform/grpc/index.js";
import { sourcePath } from "../../../platform/paths.js";
import { startService, type RunningService, type SharedParts } from "../../../platform/service.js";
import { createOrderModule, type OrderModuleOptions } from "../module.js";
import {
  AUTH,
  startCartDouble,
  startCatalogDouble,
  startInventoryDouble,
  startPaymentDouble,
  startPromotionDouble,
  startShippingDouble,
  startUsersDouble,
  type CartDouble,
  type CatalogDouble,
  type InventoryDouble,
  type PaymentDouble,
  type PromotionDouble,
  type ShippingDouble,
  type UsersDouble,
} from "./doubles.js";

import { as } from "../../../platform/testing/calls.js";
export { as, rejectionOf } from "../../../platform/testing/calls.js";
import { freePort } from "../../../platform/testing/ports.js";
export { freePort } from "../../../platform/testing/ports.js";
export { outboxEvents } from "../../../platform/testing/outbox.js";

export type OrderClient = ServiceClient<typeof OrderService>;

export interface Peers {
  readonly inventory: InventoryDouble;
  readonly payment: PaymentDouble;
  readonly promotion: PromotionDouble;
  readonly shipping: ShippingDouble;
  readonly catalog: CatalogDouble;
  readonly cart: CartDouble;
  readonly users: UsersDouble;
  /** Every double's call log and faults cleared. */
  heal(): void;
  stop(): Promise<void>;
}

export async function startPeers(): Promise<Peers> {
  const [inventory, payment, promotion, shipping, catalog, cart, users] = await Promise.all([
    startInventoryDouble(),
    startPaymentDouble(),
    startPromotionDouble(),
    startShippingDouble(),
    startCatalogDouble(),
    startCartDouble(),
    startUsersDouble(),
  ]);
  const doubles = [inventory, payment, promotion, shipping, catalog, cart];
  return {
    inventory,
    payment,
    promotion,
    shipping,
    catalog,
    cart,
    users,
    heal: () => doubles.forEach((d) => d.heal()),
    stop: async () => void (await Promise.all([...doubles, users].map((d) => d.stop()))),
  };
}

/** The environment the order service gets in tests; `extra` overrides. */
export function orderEnv(databaseUrl: string, peers: Peers, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    LOG_LEVEL: "error",
    USERS_ADDR: peers.users.address,
    AUTH_ISSUER: AUTH.issuer,
    AUTH_AUDIENCE: AUTH.audience,
    INVENTORY_ADDR: peers.inventory.address,
    PAYMENT_ADDR: peers.payment.address,
    PROMOTION_ADDR: peers.promotion.address,
    SHIPPING_ADDR: peers.shipping.address,
    CART_ADDR: peers.cart.address,
    CATALOG_ADDR: peers.catalog.address,
    // Quick retries and recovery, so outages and crashes resolve within a test.
    ORDER_SAGA_RETRY_INITIAL: "20ms",
    ORDER_SAGA_RETRY_MAX: "200ms",
    ORDER_RECOVERY_INTERVAL: "200ms",
    ORDER_TAX_RATES: "US:0,DE:1900",
    ...extra,
  };
}

export interface RunningOrder {
  readonly client: OrderClient;
  readonly service: RunningService;
  stop(): Promise<void>;
}

/** The order service in this process, on a real port; several may share one database. */
export async function startOrder(env: Record<string, string>, opts: OrderModuleOptions = {}, shared: SharedParts = {}): Promise<RunningOrder> {
  const service = await startService(createOrderModule(opts), env, shared);
  const client = createClient(OrderService, { name: "order", address: `127.0.0.1:${service.port}`, timeoutMs: 30_000 });
  return {
    client,
    service,
    async stop() {
      client.close();
      await service.stop();
    },
  };
}

export interface OrderProcess {
  readonly client: OrderClient;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process ended. */
  readonly exited: Promise<number | string>;
  kill(): void;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The order service as its own process, started from its built main.js, as a container runs it. */
export async function spawnOrder(env: Record<string, string>): Promise<OrderProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [sourcePath("dist", "services", "order", "main.js")], {
    // METRICS_PORT 0: several order processes (and other test runs) must not race for the default port.
    env: { PATH: process.env["PATH"] ?? "", METRICS_PORT: "0", ...env, GRPC_PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => void (stderr += b.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  // Wait for the port with bare TCP: failed gRPC calls would open the client's circuit breaker.
  const until = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`order process did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const client = createClient(OrderService, { name: "order-process", address: `127.0.0.1:${port}`, timeoutMs: 30_000 });
  return { client, child, exited, kill: () => void child.kill("SIGKILL") };
}

/** The order service's schema, to look at what it stored. */
export const orderDb = (databaseUrl: string): Db => createDb({ url: databaseUrl, schema: "order", applicationName: "order-test" });

let counter = 0;

/** A SKU code no other test uses. */
export const uniqueSku = (prefix = "SKU") => `${prefix}-${Date.now().toString(36)}-${counter++}`.toUpperCase();

export const testAddress = (countryCode = "US") => ({
  recipientName: "Ada Lovelace",
  line1: "1 Analytical Way",
  line2: "",
  city: "Springfield",
  region: "IL",
  postalCode: "62701",
  countryCode,
  phone: "",
});

export interface Shopper {
  readonly id: string;
  readonly call: CallOptions;
  readonly token: string;
}

export async function newShopper(peers: Peers, roles?: readonly string[]): Promise<Shopper> {
  const id = randomUUID();
  const token = await peers.users.tokenFor(id, roles);
  return { id, token, call: as(token) };
}

/** A SKU the catalog sells at `priceMinor` with `stock` units in the inventory. */
export function stockedSku(peers: Peers, priceMinor: bigint, stock = 100, weightGrams = 300): string {
  const code = uniqueSku();
  peers.catalog.put({ code, priceMinor, weightGrams });
  peers.inventory.stock.set(code, stock);
  return code;
}

export function fillCart(peers: Peers, shopper: Shopper, lines: Record<string, number>): void {
  peers.cart.carts.set(shopper.id, Object.entries(lines).map(([sku, quantity]) => ({ sku, quantity })));
}

type PlaceInit = MessageInitShape<typeof PlaceOrderRequestSchema>;

export function placeRequest(overrides: Partial<PlaceInit> = {}): PlaceInit {
  return {
    idempotencyKey: `key-${randomUUID()}`,
    shippingAddress: testAddress(),
    shippingSpeed: ShippingSpeed.STANDARD,
    paymentMethodToken: "tok_visa",
    ...overrides,
  } as PlaceInit;
}

/** The saga's persisted steps of an order. */
export async function sagaSteps(db: Db, orderId: string): Promise<Record<string, { status: string; attempts: number }>> {
  const { rows } = await db.query<{ step: string; status: string; attempts: number }>("SELECT step, status, attempts FROM saga_steps WHERE order_id = $1", [orderId]);
  return Object.fromEntries(rows.map((r) => [r.step, { status: r.status, attempts: r.attempts }]));
}
