// Which new passwords are accepted (NIST SP 800-63B): a length range and no composition rules,
// and not the account's own email address. The lower bound is the contract's (proto
// RegisterRequest.password min_len), repeated here so the rule holds even for a caller that
// skipped validation, and stated once for ChangePassword too.

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

/** Why `password` is not acceptable for the account `email` (normalized), or undefined. */
export function passwordProblem(password: string, email: string): string | undefined {
  // Characters, not UTF-16 units or bytes: "ünïcödé" counts as 7, as the user would count it.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (password.trim().length === 0) return "must not be only spaces";
  if (password.trim().toLowerCase() === email) return "must not be the email address";
  return undefined;
}
