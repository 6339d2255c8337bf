// The word lists the demo and benchmark catalogs are generated from, and the generator: pure
// and deterministic (a seeded PRNG per product), so every machine gets the same products, ids,
// slugs and SKU codes, and product n of a large catalog can be made without making the others.
import { createHash } from "node:crypto";
import type { ProductFields, ProductStatus, SkuFields } from "./product-rules.js";

export interface SeedCategory {
  readonly slug: string;
  readonly name: string;
  readonly parent?: string;
  readonly description: string;
}

/** How the SKUs of a leaf category's products vary. */
type Variation = "apparel" | "shoes" | "color" | "size" | "capacity" | "none";

interface Leaf {
  readonly slug: string;
  /** Three letters that start the SKU codes of demo products. */
  readonly code: string;
  readonly nouns: readonly string[];
  readonly materials: readonly string[];
  readonly variation: Variation;
  /** Price range in cents, and weight range in grams. */
  readonly price: readonly [number, number];
  readonly weight: readonly [number, number];
}

const TOP: readonly SeedCategory[] = [
  { slug: "apparel", name: "Apparel", description: "Clothing for every day and every season." },
  { slug: "shoes", name: "Shoes", description: "Footwear for town, trail and track." },
  { slug: "home", name: "Home", description: "Things that make a house a home." },
  { slug: "kitchen", name: "Kitchen", description: "Cookware, tableware and everything for coffee and tea." },
  { slug: "electronics", name: "Electronics", description: "Audio, accessories and gadgets." },
  { slug: "sports", name: "Sports & Outdoors", description: "Gear for training and the great outdoors." },
];

const LEAVES: readonly (Leaf & { parent: string; name: string })[] = [
  { parent: "apparel", slug: "shirts", name: "Shirts", code: "SHI", nouns: ["shirt", "oxford shirt", "flannel shirt", "overshirt", "blouse"], materials: ["linen", "cotton", "flannel", "denim", "poplin", "chambray"], variation: "apparel", price: [2900, 8900], weight: [180, 320] },
  { parent: "apparel", slug: "t-shirts", name: "T-shirts", code: "TEE", nouns: ["t-shirt", "tee", "tank top", "henley", "polo shirt"], materials: ["cotton", "organic cotton", "jersey", "merino", "bamboo"], variation: "apparel", price: [1500, 4500], weight: [140, 240] },
  { parent: "apparel", slug: "trousers", name: "Trousers", code: "TRO", nouns: ["chinos", "jeans", "trousers", "joggers", "cargo pants"], materials: ["cotton", "denim", "twill", "corduroy", "wool"], variation: "apparel", price: [3900, 11900], weight: [350, 700] },
  { parent: "apparel", slug: "jackets", name: "Jackets", code: "JAC", nouns: ["jacket", "parka", "rain jacket", "bomber jacket", "gilet"], materials: ["waxed cotton", "nylon", "wool", "down", "softshell", "leather"], variation: "apparel", price: [7900, 29900], weight: [500, 1500] },
  { parent: "apparel", slug: "knitwear", name: "Knitwear", code: "KNI", nouns: ["sweater", "cardigan", "hoodie", "jumper", "beanie"], materials: ["merino", "cashmere", "lambswool", "cotton", "alpaca"], variation: "apparel", price: [3500, 18900], weight: [250, 700] },
  { parent: "shoes", slug: "sneakers", name: "Sneakers", code: "SNE", nouns: ["sneakers", "running shoes", "trainers", "high-tops", "slip-ons"], materials: ["canvas", "leather", "mesh", "suede", "knit"], variation: "shoes", price: [4900, 16900], weight: [600, 1100] },
  { parent: "shoes", slug: "boots", name: "Boots", code: "BOO", nouns: ["boots", "chelsea boots", "hiking boots", "ankle boots", "rain boots"], materials: ["leather", "suede", "rubber", "nubuck", "waxed leather"], variation: "shoes", price: [8900, 24900], weight: [900, 1800] },
  { parent: "shoes", slug: "sandals", name: "Sandals", code: "SAN", nouns: ["sandals", "flip-flops", "slides", "espadrilles", "clogs"], materials: ["leather", "cork", "rubber", "jute", "canvas"], variation: "shoes", price: [1900, 8900], weight: [300, 800] },
  { parent: "home", slug: "bedding", name: "Bedding", code: "BED", nouns: ["duvet cover", "pillowcase set", "fitted sheet", "throw blanket", "quilt"], materials: ["linen", "cotton sateen", "percale", "flannel", "wool"], variation: "size", price: [2900, 16900], weight: [500, 2500] },
  { parent: "home", slug: "lighting", name: "Lighting", code: "LIG", nouns: ["table lamp", "floor lamp", "pendant light", "desk lamp", "wall light"], materials: ["brass", "ceramic", "oak", "glass", "steel", "rattan"], variation: "color", price: [3900, 24900], weight: [800, 6000] },
  { parent: "home", slug: "decor", name: "Decor", code: "DEC", nouns: ["vase", "cushion", "candle holder", "picture frame", "wall mirror", "rug"], materials: ["ceramic", "linen", "brass", "oak", "wool", "glass"], variation: "color", price: [1200, 19900], weight: [200, 4000] },
  { parent: "kitchen", slug: "cookware", name: "Cookware", code: "COO", nouns: ["frying pan", "saucepan", "dutch oven", "wok", "stockpot", "roasting tin"], materials: ["cast iron", "stainless steel", "carbon steel", "copper", "enamelled"], variation: "capacity", price: [2900, 27900], weight: [900, 6000] },
  { parent: "kitchen", slug: "tableware", name: "Tableware", code: "TAB", nouns: ["dinner plate set", "bowl set", "mug", "serving platter", "glass set", "cutlery set"], materials: ["stoneware", "porcelain", "glass", "stainless steel", "bamboo"], variation: "color", price: [1400, 12900], weight: [300, 4000] },
  { parent: "kitchen", slug: "coffee-tea", name: "Coffee & Tea", code: "CAF", nouns: ["french press", "pour-over kettle", "teapot", "coffee grinder", "espresso cups", "tea infuser"], materials: ["glass", "stainless steel", "ceramic", "cast iron", "borosilicate"], variation: "capacity", price: [1500, 19900], weight: [300, 3000] },
  { parent: "electronics", slug: "audio", name: "Audio", code: "AUD", nouns: ["wireless headphones", "earbuds", "bluetooth speaker", "soundbar", "turntable"], materials: ["aluminium", "matte", "walnut", "fabric", "carbon"], variation: "color", price: [3900, 39900], weight: [50, 5000] },
  { parent: "electronics", slug: "phone-accessories", name: "Phone accessories", code: "PHO", nouns: ["phone case", "charging cable", "wireless charger", "power bank", "screen protector"], materials: ["silicone", "leather", "braided", "aluminium", "recycled plastic"], variation: "color", price: [900, 7900], weight: [30, 400] },
  { parent: "electronics", slug: "computer-accessories", name: "Computer accessories", code: "COM", nouns: ["mechanical keyboard", "wireless mouse", "laptop stand", "usb-c hub", "monitor light", "webcam"], materials: ["aluminium", "wooden", "matte", "compact", "ergonomic"], variation: "color", price: [1900, 19900], weight: [80, 1500] },
  { parent: "sports", slug: "fitness", name: "Fitness", code: "FIT", nouns: ["yoga mat", "kettlebell", "resistance bands", "dumbbell set", "jump rope", "foam roller"], materials: ["cork", "rubber", "cast iron", "natural rubber", "foam"], variation: "size", price: [1200, 14900], weight: [200, 16000] },
  { parent: "sports", slug: "outdoor", name: "Outdoor", code: "OUT", nouns: ["backpack", "tent", "sleeping bag", "water bottle", "camping stove", "headlamp"], materials: ["ripstop", "nylon", "stainless steel", "down", "recycled polyester"], variation: "capacity", price: [1500, 39900], weight: [100, 4500] },
];

const ADJECTIVES = [
  "classic", "everyday", "essential", "heritage", "modern", "relaxed", "slim", "vintage", "urban", "coastal",
  "nordic", "alpine", "studio", "weekend", "premium", "lightweight", "rugged", "soft", "minimal", "signature",
];
const COLORS: readonly [string, string][] = [
  ["black", "BLK"], ["white", "WHT"], ["navy", "NVY"], ["grey", "GRY"], ["olive", "OLV"], ["sand", "SND"],
  ["rust", "RST"], ["forest green", "FGR"], ["sky blue", "SKY"], ["burgundy", "BRG"], ["charcoal", "CHR"], ["cream", "CRM"],
];
const APPAREL_SIZES = ["XS", "S", "M", "L", "XL", "XXL"];
const SHOE_SIZES = ["38", "39", "40", "41", "42", "43", "44", "45", "46"];
const SIZES: readonly [string, string, number][] = [["small", "S", 1], ["medium", "M", 1.25], ["large", "L", 1.5], ["extra large", "XL", 1.8]];
const CAPACITIES: readonly [string, string, number][] = [["0.5 l", "05L", 1], ["1 l", "1L", 1.2], ["2 l", "2L", 1.45], ["3.5 l", "35L", 1.7]];
const FEATURES = [
  "Made to last and easy to care for.", "Designed in Europe and responsibly made.", "A favourite of our customers for years.",
  "Comes in recyclable packaging.", "Backed by a two-year guarantee.", "Pairs well with the rest of the collection.",
  "Tested for everyday wear.", "Light enough to take anywhere.", "Finished by hand.", "Gets better with use.",
];

export const seedCategories: readonly SeedCategory[] = [
  ...TOP,
  ...LEAVES.map((l) => ({ slug: l.slug, name: l.name, parent: l.parent, description: `${l.name} in ${l.materials.slice(0, 3).join(", ")} and more.` })),
];

/** A small, fast, seedable PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
const between = (rnd: () => number, [lo, hi]: readonly [number, number]) => lo + Math.floor(rnd() * (hi - lo + 1));
/** Euro prices end in .99 or .00. */
const euros = (cents: number, rnd: () => number) => BigInt(Math.max(99, Math.round(cents / 100) * 100 - (rnd() < 0.7 ? 1 : 0)));
const title = (s: string) => s.replace(/(^|[\s-])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());
const slugify = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

/** A UUID derived from `name` (SHA-1, laid out as RFC 4122 version 5): same name, same id, everywhere. */
export function seedUuid(name: string): string {
  const h = createHash("sha1").update(`shop-catalog-seed:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function sample<T>(rnd: () => number, list: readonly T[], n: number): T[] {
  const pool = [...list];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0]!);
  return out;
}

function variants(leaf: Leaf, rnd: () => number, base: number): { name: string; code: string; attributes: Record<string, string>; price: number; weight: number }[] {
  const weight = between(rnd, leaf.weight);
  const colors = sample(rnd, COLORS, 1 + Math.floor(rnd() * 3));
  switch (leaf.variation) {
    case "apparel":
    case "shoes": {
      const all = leaf.variation === "apparel" ? APPAREL_SIZES : SHOE_SIZES;
      const start = Math.floor(rnd() * (all.length - 3));
      const sizes = all.slice(start, start + 2 + Math.floor(rnd() * 2));
      return colors.flatMap(([color, cc]) =>
        sizes.map((size) => ({ name: `${title(color)} / ${size}`, code: `${cc}-${size}`, attributes: { color, size }, price: base, weight })),
      );
    }
    case "color":
      return colors.map(([color, cc]) => ({ name: title(color), code: cc, attributes: { color }, price: base, weight }));
    case "size":
    case "capacity": {
      const list = leaf.variation === "size" ? SIZES : CAPACITIES;
      const key = leaf.variation;
      return sample(rnd, list, 2 + Math.floor(rnd() * 2))
        .sort((a, b) => a[2] - b[2])
        .map(([label, code, factor]) => ({ name: label, code, attributes: { [key]: label }, price: base * factor, weight: Math.round(weight * factor) }));
    }
    default:
      return [{ name: "Standard", code: "STD", attributes: {}, price: base, weight }];
  }
}

export interface SeedProduct extends ProductFields {
  readonly id: string;
  readonly createdAt: Date;
}

const YEAR_MS = 365 * 86_400_000;
const CREATION_GAP_MS = 30_000;

/** The product numbered `n` of a generated catalog: `kind` "demo" or "large" name different, non-overlapping series. */
export function generateProduct(kind: "demo" | "large", n: number, categoryIds: ReadonlyMap<string, string>, epoch: Date): SeedProduct {
  const rnd = prng((kind === "demo" ? 0x5eed : 0xb16) * 1_000_003 + n);
  const leaf = LEAVES[n % LEAVES.length]!;
  const noun = pick(rnd, leaf.nouns);
  const material = pick(rnd, leaf.materials);
  const adjective = pick(rnd, ADJECTIVES);
  const name = title(`${adjective} ${material} ${noun}`);
  const base = between(rnd, leaf.price);
  const slug = kind === "demo" ? `${slugify(name)}-${n + 1}` : `${slugify(name)}-m${n}`;
  const prefix = kind === "demo" ? `${leaf.code}-${String(n + 1).padStart(4, "0")}` : `M${n}`;
  const skus: SkuFields[] = variants(leaf, rnd, base).slice(0, kind === "demo" ? 8 : 4).map((v) => ({
    code: `${prefix}-${v.code}`.replace(/[^A-Za-z0-9._-]/g, ""),
    name: v.name,
    price: { amountMinor: euros(v.price, rnd), currency: "EUR" },
    attributes: v.attributes,
    weightGrams: v.weight,
    active: true,
  }));
  const features = sample(rnd, FEATURES, 2).join(" ");
  const description = `The ${adjective} ${noun} in ${material}: ${pick(rnd, ["a wardrobe staple", "built for daily use", "a quiet classic", "our bestseller", "made for comfort"])}. ${features}`;
  const roll = rnd();
  const status: ProductStatus = kind === "demo" || roll < 0.92 ? "active" : roll < 0.96 ? "draft" : "archived";
  const ids = [categoryIds.get(leaf.slug)].filter((x): x is string => x !== undefined);
  return {
    id: seedUuid(`${kind}:${n}`),
    slug,
    name,
    description,
    categoryIds: ids,
    imageUrls: [1, 2].map((i) => `https://picsum.photos/seed/${slug}-${i}/800/800`),
    status,
    skus,
    // Created one after another, as a shop adds its products: product n some 30 seconds after
    // product n-1 (within the year before `epoch`), so the table is stored roughly in created_at
    // order, as a table filled by inserts over time is. Millisecond precision like every service time.
    createdAt: new Date(epoch.getTime() - YEAR_MS + Math.min(YEAR_MS - 1, n * CREATION_GAP_MS + Math.floor(rnd() * CREATION_GAP_MS))),
  };
}
