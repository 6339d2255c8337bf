// Keyset pagination for ListPromotions: a page token is the sort key (created_at, id) of the
// last promotion returned, so the next page is "older than this", stable under inserts and
// cheap at any depth. Opaque to callers (base64url JSON); one that does not decode is
// INVALID_ARGUMENT naming page_token.
// The codec is the platform's, shared by every (time, id)-sorted list.
export { DEFAULT_PAGE_SIZE, decodePageToken, encodePageToken, pageSize, type PageKey } from "../../platform/page-token.js";
