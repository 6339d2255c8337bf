// CartService's gRPC handlers: whose cart (from the verified caller or the request's token),
// then carts.ts, then the view mapped to the contract. Access levels are enforced by the
// platform before these run; ownership is here: a signed-in caller only ever reaches their own
// cart, a guest only the cart their token names.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CartService, CartWarning_Code, type CartSchema } from "../../gen/shop/cart/v1/cart_pb.js";
import { requireCaller, type CallContext, type ServiceImpl } from "../../platform/grpc/index.js";
import { requestOwner } from "./cart-owner.js";
import type { CartResult, Carts } from "./carts.js";
import type { WarningCode } from "./cart-view.js";
import { toProtoMoney } from "../../platform/money.js";

const warningCodes: Record<WarningCode, CartWarning_Code> = {
  price_changed: CartWarning_Code.PRICE_CHANGED,
  insufficient_stock: CartWarning_Code.INSUFFICIENT_STOCK,
  out_of_stock: CartWarning_Code.OUT_OF_STOCK,
  unavailable: CartWarning_Code.UNAVAILABLE,
  price_unknown: CartWarning_Code.PRICE_UNKNOWN,
  availability_unknown: CartWarning_Code.AVAILABILITY_UNKNOWN,
};

const time = (d: Date | undefined) => (d ? timestampFromDate(d) : undefined);

export function toProtoCart({ view, token }: CartResult): MessageInitShape<typeof CartSchema> {
  return {
    id: view.id,
    cartToken: token ?? "",
    userId: view.userId ?? "",
    lines: view.lines.map((l) => ({
      sku: l.sku,
      productId: l.productId,
      productName: l.productName,
      skuName: l.skuName,
      imageUrl: l.imageUrl,
      quantity: l.quantity,
      unitPrice: toProtoMoney(l.unitPrice),
      lineTotal: toProtoMoney(l.lineTotal),
      availability: l.availability,
      addTime: time(l.addedAt),
    })),
    subtotal: toProtoMoney(view.subtotal),
    totalQuantity: view.totalQuantity,
    warnings: view.warnings.map((w) => ({ code: warningCodes[w.code], sku: w.sku, message: w.message })),
    expireTime: time(view.expiresAt),
    updateTime: time(view.updatedAt),
  };
}

const ownerOf = (ctx: CallContext, cartToken: string) => requestOwner(ctx.caller?.subject, cartToken);

export function createCartService(carts: Carts): ServiceImpl<typeof CartService> {
  return {
    getCart: async (req, ctx) => ({ cart: toProtoCart(await carts.get(ownerOf(ctx, req.cartToken))) }),
    addItem: async (req, ctx) => ({ cart: toProtoCart(await carts.addItem(ownerOf(ctx, req.cartToken), req.sku, req.quantity)) }),
    updateItemQuantity: async (req, ctx) => ({
      cart: toProtoCart(await carts.updateQuantity(ownerOf(ctx, req.cartToken), req.sku, req.quantity)),
    }),
    removeItem: async (req, ctx) => ({ cart: toProtoCart(await carts.removeItem(ownerOf(ctx, req.cartToken), req.sku)) }),
    clearCart: async (req, ctx) => ({ cart: toProtoCart(await carts.clear(ownerOf(ctx, req.cartToken))) }),
    // USER: the platform already refused anonymous callers; requireCaller names the caller.
    mergeGuestCart: async (req, ctx) => ({ cart: toProtoCart(await carts.merge(requireCaller(ctx).subject, req.cartToken)) }),
  };
}

export { CartService };
