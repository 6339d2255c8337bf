// Keyset pagination of the delivery log: a page token is the (time, id) of the last row
// returned, so the next page is "rows older than this", stable while new mails arrive and cheap
// at any depth (no OFFSET). Opaque to callers (base64url JSON); a token that does not decode
// is INVALID_ARGUMENT naming page_token.
// The codec is the platform's, shared by every (time, id)-sorted list.
export { DEFAULT_PAGE_SIZE, decodePageToken, encodePageToken, pageSize, type PageKey } from "../../platform/page-token.js";
