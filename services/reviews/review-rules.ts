// What a review is and who may do what with it: plain functions, no I/O.
//
// - Text is normalised before it is checked or stored: Unicode NFC (so "é" typed two ways is one
//   word for search and one length), control characters dropped, runs of spaces folded, lines
//   trimmed; a title is one line, a body keeps at most one empty line between paragraphs. The
//   contract's length limits are checked on what the client sent; the rules here check what is
//   left (a title of spaces is no title).
// - The author edits their review; the author or an admin deletes it; only admins moderate.
// - A published review is visible to everyone; a rejected one to its author and admins only.
// - An edit keeps the moderation status: an author cannot undo a rejection by editing, a
//   moderator publishes it again.
import { invalidArgument, type FieldViolation } from "../../platform/errors.js";
import { ADMIN_ROLE, type Caller } from "../../platform/grpc/index.js";

export type ReviewStatus = "published" | "rejected";

export interface ReviewRecord {
  readonly id: string;
  readonly productId: string;
  readonly userId: string;
  readonly authorName: string;
  readonly rating: number;
  readonly title: string;
  readonly body: string;
  readonly status: ReviewStatus;
  readonly verifiedPurchase: boolean;
  readonly moderationNote: string;
  readonly createTime: Date;
  readonly updateTime: Date;
}

/** What an author writes. */
export interface ReviewInput {
  readonly rating: number;
  readonly title: string;
  readonly body: string;
}

export const TITLE_MAX = 150;
export const BODY_MAX = 5000;
export const NOTE_MAX = 500;

// C0/C1 controls, DEL, and the invisible format characters that only hide text (zero-width
// spaces and joiners, bidi overrides, BOM). Newlines and tabs are dealt with separately.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;
const SPACES = /[\t \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]+/g;

/** One line: NFC, no controls, every run of white space (newlines too) one space, trimmed. */
export function normalizeLine(raw: string): string {
  return raw.normalize("NFC").replace(/\r\n?|\n|\u2028|\u2029/g, " ").replace(CONTROLS, "").replace(SPACES, " ").trim();
}

/** Paragraphs: each line normalised, at most one empty line between paragraphs, trimmed. */
export function normalizeText(raw: string): string {
  const lines = raw.normalize("NFC").replace(/\r\n?|\u2028|\u2029/g, "\n").split("\n").map(normalizeLine);
  return lines.join("\n").replace(/\n{3,}/g, "\n\n").trim();
}

/** Characters as protovalidate counts them (code points), not UTF-16 units. */
const length = (s: string): number => [...s].length;

/** The input as it will be stored, or INVALID_ARGUMENT naming each bad field. */
export function checkReviewInput(input: ReviewInput): ReviewInput {
  const title = normalizeLine(input.title);
  const body = normalizeText(input.body);
  const violations: FieldViolation[] = [];
  if (!Number.isInteger(input.rating) || input.rating < 1 || input.rating > 5) violations.push({ field: "rating", description: "must be 1 to 5 stars" });
  if (title === "") violations.push({ field: "title", description: "must have visible characters" });
  if (length(title) > TITLE_MAX) violations.push({ field: "title", description: `must be at most ${TITLE_MAX} characters` });
  if (length(body) > BODY_MAX) violations.push({ field: "body", description: `must be at most ${BODY_MAX} characters` });
  if (violations.length > 0) throw invalidArgument("invalid review", violations);
  return { rating: input.rating, title, body };
}

/** A moderator's note as stored; required (non-blank) when rejecting. */
export function checkModerationNote(status: ReviewStatus, note: string): string {
  const clean = normalizeText(note);
  if (status === "rejected" && clean === "") throw invalidArgument("a rejection needs a note for the author", [{ field: "note", description: "is required when rejecting a review" }]);
  if (length(clean) > NOTE_MAX) throw invalidArgument("note too long", [{ field: "note", description: `must be at most ${NOTE_MAX} characters` }]);
  return clean;
}

export const AUTHOR_NAME_MAX = 100;

/** The author shown on a new review: the display name the token carries, or a neutral one. */
export function authorNameOf(caller: Caller): string {
  return [...normalizeLine(caller.name ?? "")].slice(0, AUTHOR_NAME_MAX).join("") || "Verified buyer";
}

const isAdmin = (caller: Caller | undefined): boolean => !!caller && caller.roles.includes(ADMIN_ROLE);
const isAuthor = (review: ReviewRecord, caller: Caller | undefined): boolean => !!caller && caller.subject === review.userId;

export const canEdit = (review: ReviewRecord, caller: Caller): boolean => isAuthor(review, caller);
export const canDelete = (review: ReviewRecord, caller: Caller): boolean => isAuthor(review, caller) || isAdmin(caller);
export const isVisibleTo = (review: ReviewRecord, caller: Caller | undefined): boolean =>
  review.status === "published" || isAuthor(review, caller) || isAdmin(caller);

/** The review after its author's edit (status and moderation note kept). */
export function edited(review: ReviewRecord, input: ReviewInput, now: Date): ReviewRecord {
  return { ...review, rating: input.rating, title: input.title, body: input.body, updateTime: now };
}

/** The review after moderation, or undefined when it already is exactly that (nothing to do). */
export function moderated(review: ReviewRecord, status: ReviewStatus, note: string, now: Date): ReviewRecord | undefined {
  if (review.status === status && review.moderationNote === note) return undefined;
  return { ...review, status, moderationNote: note, updateTime: now };
}
