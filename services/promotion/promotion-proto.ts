// Promotions between the contract and the domain: proto messages to drafts and back, and the
// merge UpdatePromotion does (the fields named in the mask over the stored promotion), checked
// with the contract's own protovalidate rules because the request's partial promotion is not
// validated on its own.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { PromotionKind, PromotionSchema, type Promotion as PromotionProto } from "../../gen/shop/promotion/v1/promotion_pb.js";
import { fieldError, invalidArgument } from "../../platform/errors.js";
import { fromProtoMoney, toProtoMoney } from "../../platform/money.js";
import { normalizeCouponCode, type Promotion, type PromotionDraft, type PromotionKind as Kind } from "./promotion.js";

const kinds: Record<Kind, PromotionKind> = {
  percentage: PromotionKind.PERCENTAGE,
  fixed_amount: PromotionKind.FIXED_AMOUNT,
  free_shipping: PromotionKind.FREE_SHIPPING,
};

export const kindProto = (k: Kind): PromotionKind => kinds[k];

function kindOf(k: PromotionKind): Kind {
  const found = (Object.keys(kinds) as Kind[]).find((key) => kinds[key] === k);
  if (!found) throw fieldError("promotion.kind", "must be PERCENTAGE, FIXED_AMOUNT or FREE_SHIPPING");
  return found;
}

const time = (d: Date | undefined) => (d ? timestampFromDate(d) : undefined);

export function toProtoPromotion(p: Promotion): MessageInitShape<typeof PromotionSchema> {
  return {
    id: p.id,
    name: p.name,
    couponCode: p.couponCode ?? "",
    kind: kindProto(p.kind),
    percentBps: p.percentBps,
    amountOff: toProtoMoney(p.amountOff),
    startTime: time(p.startsAt),
    endTime: time(p.endsAt),
    minSpend: toProtoMoney(p.minSpend),
    perCustomerLimit: p.perCustomerLimit,
    totalLimit: p.totalLimit,
    redemptionCount: p.redemptionCount,
    stackable: p.stackable,
    disabled: p.disabled,
    appliesTo: { skus: [...p.appliesTo.skus], categoryIds: [...p.appliesTo.categoryIds] },
    createTime: timestampFromDate(p.createdAt),
    updateTime: timestampFromDate(p.updatedAt),
  };
}

/** The admin's fields of a (validated) proto promotion; output-only fields are ignored. */
export function draftOf(p: PromotionProto): PromotionDraft {
  return {
    name: p.name.trim(),
    couponCode: p.couponCode === "" ? undefined : normalizeCouponCode(p.couponCode),
    kind: kindOf(p.kind),
    percentBps: p.percentBps,
    amountOff: fromProtoMoney(p.amountOff),
    startsAt: p.startTime ? timestampDate(p.startTime) : undefined,
    endsAt: p.endTime ? timestampDate(p.endTime) : undefined,
    minSpend: fromProtoMoney(p.minSpend),
    perCustomerLimit: p.perCustomerLimit,
    totalLimit: p.totalLimit,
    stackable: p.stackable,
    disabled: p.disabled,
    appliesTo: { skus: [...(p.appliesTo?.skus ?? [])], categoryIds: [...(p.appliesTo?.categoryIds ?? [])] },
  };
}

let validator: Validator | undefined;

/**
 * The stored promotion with the mask's fields taken from `patch`, validated by the contract's
 * rules as a whole (violations under `promotion.`). The mask's paths are checked by the
 * contract (field_mask.in) to be top-level fields an admin may set.
 */
export function mergeUpdate(current: Promotion, patch: PromotionProto | undefined, paths: readonly string[]): PromotionDraft {
  const merged = create(PromotionSchema, toProtoPromotion(current));
  for (const path of paths) {
    const field = PromotionSchema.fields.find((f) => f.name === path);
    if (!field) throw fieldError("update_mask", `${path} is not a field of Promotion`);
    const target = merged as unknown as Record<string, unknown>;
    target[field.localName] = patch ? (patch as unknown as Record<string, unknown>)[field.localName] : undefined;
    // An unset scalar in the patch means its zero value, as in proto3.
    if (target[field.localName] === undefined && field.fieldKind === "scalar") {
      target[field.localName] = (create(PromotionSchema) as unknown as Record<string, unknown>)[field.localName];
    }
  }
  const result = (validator ??= createValidator()).validate(PromotionSchema, merged);
  if (result.kind === "error") throw new Error(`promotion validation failed: ${result.error.message}`, { cause: result.error });
  if (result.kind === "invalid") {
    const violations = result.violations.map((v) => {
      const path = pathToString(v.field);
      return { field: path === "" ? "promotion" : `promotion.${path}`, description: v.message || v.ruleId };
    });
    throw invalidArgument(`invalid promotion: ${violations[0]!.field}: ${violations[0]!.description}`, violations);
  }
  return draftOf(merged);
}
