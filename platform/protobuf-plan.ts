// What the platform's binary codec (binary-encoding.ts, binary-decoding.ts) knows of a message
// type, worked out once per descriptor instead of through protobuf-es's reflection API on every
// message: its fields in number order and by number, what each holds and how it is present, how
// to make a zero message, and whether the type's messages hold what the wire says as is (false
// where protobuf-es represents a field otherwise: wrapper types unwrapped to scalars in singular
// fields, google.protobuf.Struct as a JSON object; the codec leaves such types to protobuf-es).
import { create, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { scalarZeroValue } from "@bufbuild/protobuf/reflect";
import type { WireType } from "@bufbuild/protobuf/wire";
import { Edition, FeatureSet_FieldPresence, isWrapperDesc } from "@bufbuild/protobuf/wkt";

/** A message as the codec reads and fills it: its fields by local name. */
export type Fields = Record<string, unknown> & { $unknown?: { no: number; wireType: WireType; data: Uint8Array }[] };

export const enum Kind {
  Scalar,
  OpenEnum,
  ClosedEnum,
  Message,
  List,
  MessageList,
  Map,
}

export interface FieldPlan {
  readonly field: DescField;
  readonly kind: Kind;
  readonly name: string;
  /** The oneof's local name, for a member of one. */
  readonly oneof: string | undefined;
  /** The scalar of a scalar field or list, or of a map's values (INT32 for enums). */
  readonly scalar: ScalarType;
  readonly mapKey: ScalarType;
  /** Map values: "scalar", "enum" or "message". */
  readonly mapKind: string;
  readonly longAsString: boolean;
  readonly strictUtf8: boolean;
  readonly delimited: boolean;
  /** Known numbers of a closed enum. */
  readonly enumNumbers: ReadonlySet<number> | undefined;
  /** The message type of a message field, list or map value. */
  readonly message: DescMessage | undefined;
  /** Present when set rather than when not zero (messages, proto3 optional, proto2). */
  readonly explicit: boolean;
  /** proto2 `required`: encoding refuses a message without it. */
  readonly required: boolean;
  /** A list written packed. */
  readonly packed: boolean;
  /** An enum's first number, its zero value. */
  readonly enumZero: number;
  /** The plan of `message`, once looked up (messagePlan). */
  sub: Plan | undefined;
}

export interface Plan {
  readonly desc: DescMessage;
  /** `create(desc)`: a message with every field at its zero value. */
  readonly zero: () => Fields;
  /** False when some field (here or below) needs protobuf-es's own representation. */
  direct: boolean;
  readonly byNumber: ReadonlyMap<number, FieldPlan>;
  /** In field number order, as the encoding writes them. */
  readonly fields: readonly FieldPlan[];
}

const plans = new WeakMap<DescMessage, Plan>();

/** The plan of the message type a message field, list or map value holds. */
export function messagePlan(f: FieldPlan): Plan {
  return (f.sub ??= planOf(f.message!));
}

export function planOf(desc: DescMessage): Plan {
  let plan = plans.get(desc);
  if (plan) return plan;
  const byNumber = new Map<number, FieldPlan>();
  const fields: FieldPlan[] = [];
  plan = { desc, zero: zeroMaker(desc), direct: true, byNumber, fields };
  // Registered before the fields are looked at, so a recursive type finds itself.
  plans.set(desc, plan);
  for (const f of desc.fields) byNumber.set(f.number, fieldPlan(f));
  fields.push(...[...byNumber.values()].sort((a, b) => a.field.number - b.field.number));
  plan.direct = [...byNumber.values()].every((f) => representedDirectly(f, new Set([desc])));
  return plan;
}

/**
 * What `create(desc)` returns, made faster for proto3 (the shop's contracts): no prototype chain
 * there, so a zero message is its oneofs unset and its implicit-presence fields at zero, set in
 * the order create() sets them (so both share V8's hidden class).
 */
function zeroMaker(desc: DescMessage): () => Fields {
  if (desc.file.edition !== Edition.EDITION_PROTO3) return () => create(desc) as unknown as Fields;
  const parts: [name: string, make: () => unknown][] = [];
  for (const m of desc.members) {
    if (m.kind === "oneof") parts.push([m.localName, () => ({ case: undefined })]);
    else if (m.presence === FeatureSet_FieldPresence.IMPLICIT) {
      if (m.fieldKind === "list") parts.push([m.localName, () => []]);
      else if (m.fieldKind === "map") parts.push([m.localName, () => ({})]);
      else if (m.fieldKind === "scalar" && m.scalar === ScalarType.BYTES) parts.push([m.localName, () => new Uint8Array(0)]);
      else if (m.fieldKind === "scalar") {
        const zero = scalarZeroValue(m.scalar, m.longAsString);
        parts.push([m.localName, () => zero]);
      } else if (m.fieldKind === "enum") {
        const first = m.enum.values[0]!.number;
        parts.push([m.localName, () => first]);
      }
    }
  }
  const typeName = desc.typeName;
  return () => {
    const message: Fields = { $typeName: typeName };
    for (const [name, make] of parts) message[name] = make();
    return message;
  };
}

function fieldPlan(f: DescField): FieldPlan {
  const base = {
    field: f,
    name: f.localName,
    oneof: f.oneof?.localName,
    scalar: ScalarType.INT32,
    mapKey: ScalarType.STRING,
    mapKind: "",
    longAsString: "longAsString" in f && f.longAsString === true,
    strictUtf8: f.utf8Validation === true,
    delimited: "delimitedEncoding" in f && f.delimitedEncoding === true,
    enumNumbers: undefined,
    message: undefined,
    explicit: f.presence !== FeatureSet_FieldPresence.IMPLICIT,
    required: f.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED,
    packed: "packed" in f && f.packed === true,
    enumZero: f.enum?.values[0]?.number ?? 0,
    sub: undefined,
  };
  switch (f.fieldKind) {
    case "scalar":
      return { ...base, kind: Kind.Scalar, scalar: f.scalar };
    case "enum":
      return f.enum.open ? { ...base, kind: Kind.OpenEnum } : { ...base, kind: Kind.ClosedEnum, enumNumbers: new Set(f.enum.values.map((v) => v.number)) };
    case "message":
      return { ...base, kind: Kind.Message, message: f.message };
    case "list":
      return f.listKind === "message" ? { ...base, kind: Kind.MessageList, message: f.message } : { ...base, kind: Kind.List, scalar: f.scalar ?? ScalarType.INT32 };
    case "map":
      return { ...base, kind: Kind.Map, mapKey: f.mapKey, mapKind: f.mapKind, scalar: f.scalar ?? ScalarType.INT32, message: f.message };
  }
}

/** Whether the field holds what the wire says as is (see the file's head), recursively. */
function representedDirectly(f: FieldPlan, seen: Set<DescMessage>): boolean {
  const m = f.message;
  if (!m) return true;
  if (f.kind === Kind.Message && !f.oneof && isWrapperDesc(m)) return false;
  if (m.typeName === "google.protobuf.Struct" && f.field.parent.typeName !== "google.protobuf.Value") return false;
  if (seen.has(m)) return true;
  seen.add(m);
  return [...planOf(m).byNumber.values()].every((sub) => representedDirectly(sub, seen));
}
