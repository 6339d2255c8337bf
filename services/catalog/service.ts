// CatalogService's gRPC handlers: proto in, domain call, proto out. Access levels (public,
// admin, internal) are enforced by the platform from the contract before a handler runs; what
// a caller may see (ACTIVE only, unless an admin) is decided from the verified caller here.
import { CatalogService, ProductSort } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { ProductStatus } from "../../gen/shop/catalog/v1/product_pb.js";
import type { Money as MoneyProto } from "../../gen/shop/common/v1/money_pb.js";
import { fieldError } from "../../platform/errors.js";
import { ADMIN_ROLE, type CallContext, type ServiceImpl } from "../../platform/grpc/index.js";
import type { Browsing, FilterInput } from "./browsing.js";
import type { Categories } from "./categories.js";
import type { ProductSortKind } from "./listing-store.js";
import { categoryProto, productProto, skuFromProto, skuProto, statusFromProto } from "./product-proto.js";
import { purchasable, UPDATABLE_FIELDS, type Money, type ProductFields, type UpdatableField } from "./product-rules.js";
import type { Products, Viewer } from "./products.js";

export interface CatalogServiceDeps {
  readonly products: Products;
  readonly browsing: Browsing;
  readonly categories: Categories;
}

const viewerOf = (ctx: CallContext): Viewer => ({ admin: ctx.caller?.roles.includes(ADMIN_ROLE) ?? false });

const sorts: Record<ProductSort, ProductSortKind> = {
  [ProductSort.UNSPECIFIED]: "newest",
  [ProductSort.NEWEST]: "newest",
  [ProductSort.PRICE_ASC]: "price_asc",
  [ProductSort.PRICE_DESC]: "price_desc",
  [ProductSort.NAME]: "name",
};

const money = (m: MoneyProto | undefined): Money | undefined => (m ? { amountMinor: m.amountMinor, currency: m.currencyCode } : undefined);

const filterOf = (req: { categoryId: string; minPrice?: MoneyProto | undefined; maxPrice?: MoneyProto | undefined; inStockOnly: boolean }): FilterInput => ({
  categoryId: req.categoryId,
  minPrice: money(req.minPrice),
  maxPrice: money(req.maxPrice),
  inStockOnly: req.inStockOnly,
});

type ProductMessage = {
  slug: string;
  name: string;
  description: string;
  categoryIds: string[];
  imageUrls: string[];
  status: number;
  skus: Parameters<typeof skuFromProto>[0][];
};

const fieldsOf = (p: ProductMessage, fallbackStatus: "draft" | "active"): ProductFields => ({
  slug: p.slug,
  name: p.name,
  description: p.description,
  categoryIds: [...p.categoryIds],
  imageUrls: [...p.imageUrls],
  status: statusFromProto(p.status, fallbackStatus),
  skus: p.skus.map(skuFromProto),
});

const page = (p: Awaited<ReturnType<Browsing["list"]>>) => ({ products: p.products.map(productProto), nextPageToken: p.nextPageToken });

export function createCatalogService({ products, browsing, categories }: CatalogServiceDeps): ServiceImpl<typeof CatalogService> {
  return {
    async getProduct(req, ctx) {
      const by = req.lookup.case === "id" ? { id: req.lookup.value } : { slug: req.lookup.value ?? "" };
      return { product: productProto(await products.get(by, viewerOf(ctx))) };
    },
    async listProducts(req, ctx) {
      const status = statusFromProto(req.status, "active");
      return page(await browsing.list({ ...filterOf(req), pageSize: req.pageSize, pageToken: req.pageToken, status, sort: sorts[req.sort] }, viewerOf(ctx)));
    },
    async searchProducts(req) {
      return page(await browsing.search({ ...filterOf(req), query: req.query, pageSize: req.pageSize, pageToken: req.pageToken }));
    },
    async listRelatedProducts(req, ctx) {
      return page(await browsing.related(req, viewerOf(ctx)));
    },
    async batchGetSkus(req) {
      const { found, missing } = await products.skus(req.skus);
      return {
        skus: found.map((d) => ({
          sku: skuProto(d.sku),
          productId: d.productId,
          productName: d.productName,
          productSlug: d.productSlug,
          imageUrl: d.imageUrl,
          categoryIds: [...d.categoryIds],
          purchasable: purchasable({ status: d.status }, d.sku),
        })),
        missingSkus: missing,
      };
    },
    async listCategories(req) {
      const p = await categories.list(req);
      return { categories: p.categories.map(categoryProto), nextPageToken: p.nextPageToken };
    },

    async createProduct(req) {
      return { product: productProto(await products.create(fieldsOf(req, "draft"))) };
    },
    async updateProduct(req) {
      // The contract restricts the mask to these paths; the filter only narrows the type.
      const mask = (req.updateMask?.paths ?? []).filter((p): p is UpdatableField => (UPDATABLE_FIELDS as readonly string[]).includes(p));
      const product = req.product!; // required by the contract
      if (mask.includes("status") && product.status === ProductStatus.UNSPECIFIED) throw fieldError("product.status", "must be DRAFT or ACTIVE");
      return { product: productProto(await products.update(req.id, fieldsOf(product, "draft"), mask)) };
    },
    async archiveProduct(req) {
      return { product: productProto(await products.archive(req.id)) };
    },
    async deleteProduct(req) {
      await products.remove(req.id);
      return {};
    },

    async createCategory(req) {
      return { category: categoryProto(await categories.create(req)) };
    },
    async updateCategory(req) {
      const c = req.category!;
      const input = { slug: c.slug, name: c.name, parentId: c.parentId, description: c.description };
      return { category: categoryProto(await categories.update(req.id, input, req.updateMask?.paths ?? [])) };
    },
    async deleteCategory(req) {
      await categories.remove(req.id);
      return {};
    },
  };
}

export { CatalogService };
