// Roles as they appear in the access token's "roles" claim. Every account starts as a
// customer; the configured first admin (ADMIN_EMAIL) also gets "admin"; after that only an
// admin hands out roles (SetUserRoles).
import { failedPrecondition } from "../../platform/errors.js";

export const CUSTOMER = "customer";
export const ADMIN = "admin";
const KNOWN = [CUSTOMER, ADMIN] as const;

/** Roles in one canonical order, duplicates and unknown names dropped. */
export function normalizeRoles(roles: readonly string[]): string[] {
  return KNOWN.filter((r) => roles.includes(r));
}

export function rolesForNewAccount(email: string, adminEmail: string | undefined): string[] {
  return email === adminEmail ? [CUSTOMER, ADMIN] : [CUSTOMER];
}

export function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  const x = normalizeRoles(a);
  const y = normalizeRoles(b);
  return x.length === y.length && x.every((r, i) => r === y[i]);
}

/**
 * An admin may not take the admin role away from themselves: it is the easy way to leave a
 * shop with no admin at all. Another admin can do it.
 */
export function checkRoleChange(actorId: string, targetId: string, newRoles: readonly string[]): void {
  if (actorId === targetId && !newRoles.includes(ADMIN)) {
    throw failedPrecondition("an admin cannot remove their own admin role");
  }
}
