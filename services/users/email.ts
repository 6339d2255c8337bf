// Email addresses identify accounts. They are compared in one canonical form so that
// "Ann@Example.com " and "ann@example.com" are the same account.
//
// Lower-casing the local part is, strictly, not allowed by RFC 5321, but no mail provider in
// use treats case as significant there, and two accounts differing only in case would be a
// support problem and a phishing aid. Dots and "+tags" are left alone: they are the user's choice.

export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}
