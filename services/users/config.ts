// The users service's own settings, next to the platform's base ones (AUTH_ISSUER and
// AUTH_AUDIENCE come from there: every verifier in the shop reads the same two).
import { duration, int, optional, parseDuration, str, type Setting } from "../../platform/config.js";

const DAY_MS = 24 * 3_600_000;

/** Like the platform's duration, plus days (`30d`): refresh tokens live for weeks. */
function longDuration(opts: { doc: string; default: number }): Setting<number> {
  return {
    doc: opts.doc,
    fallback: () => opts.default,
    parse(raw) {
      const days = /^(\d+(?:\.\d+)?)d$/.exec(raw.trim());
      const ms = days ? Math.round(Number(days[1]) * DAY_MS) : parseDuration(raw);
      if (ms <= 0) throw new Error("expected a positive duration");
      return ms;
    },
  };
}

export const usersConfig = {
  ACCESS_TOKEN_TTL: duration({ doc: "lifetime of access tokens (JWTs); also how long a retired signing key stays in the JWKS", default: 15 * 60_000 }),
  REFRESH_TOKEN_TTL: longDuration({ doc: "lifetime of a refresh token from its issue (each use issues a new one), e.g. 30d", default: 30 * DAY_MS }),
  KEY_ROTATION_INTERVAL: longDuration({ doc: "age at which a new signing key is created", default: DAY_MS }),
  KEY_PUBLISH_AHEAD: duration({ doc: "how long a new key is published in the JWKS before tokens are signed with it; longer than KEY_RELOAD_INTERVAL and than any JWKS cache", default: 10 * 60_000 }),
  KEY_RELOAD_INTERVAL: duration({ doc: "how often each replica re-reads the signing keys (and checks whether a rotation is due)", default: 60_000 }),
  ADMIN_EMAIL: optional(str({ doc: "this account gets the admin role when it registers, and at every start-up if it exists" })),
  LOGIN_FAILURE_WINDOW: duration({ doc: "window over which failed sign-ins are counted", default: 15 * 60_000 }),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: int({ doc: "failed sign-ins per email within the window before sign-in is refused", default: 5, min: 1 }),
  LOGIN_MAX_FAILURES_PER_ADDRESS: int({ doc: "failed sign-ins per client address (x-client-ip) within the window before sign-in is refused", default: 20, min: 1 }),
};
