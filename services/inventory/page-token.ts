// Keyset pagination for ListReservations: a page token is the sort key (created_at, order_id) of
// the last reservation returned, so the next page is "reservations after this key", stable
// under inserts and cheap at any depth. Opaque to callers (base64url JSON); a token that does not
// decode is INVALID_ARGUMENT.
// The codec is the platform's, shared by every (time, id)-sorted list.
export { DEFAULT_PAGE_SIZE, decodePageToken, encodePageToken, pageSize, type PageKey } from "../../platform/page-token.js";
