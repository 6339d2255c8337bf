// Typed configuration from environment variables, parsed once at start-up.
//
// A service declares what it reads as a spec of small parsers; `loadConfig` returns a typed
// object or throws one ConfigError naming every variable that is missing or malformed, so an
// operator fixes all of them in one go. Nothing else in the code base reads process.env.

export interface Setting<T> {
  /** What the variable is for, shown in error messages and docs. */
  readonly doc: string;
  /** Parses the raw value; throws an Error whose message says what was expected. */
  parse(raw: string): T;
  /** Used when the variable is unset or empty; absent means the variable is required. */
  readonly fallback?: () => T;
  /** Hide the value in describeConfig output (passwords, keys, URLs with credentials). */
  readonly secret?: boolean;
}

type Spec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Spec> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

interface Options<T> {
  doc: string;
  default?: T;
  secret?: boolean;
}

function setting<T>(opts: Options<T>, parse: (raw: string) => T): Setting<T> {
  const fallback = opts.default;
  return {
    doc: opts.doc,
    parse,
    ...(fallback !== undefined ? { fallback: () => fallback } : {}),
    ...(opts.secret ? { secret: true } : {}),
  };
}

/** A variable that may be left unset; the value is then undefined. */
export function optional<T>(inner: Setting<T>): Setting<T | undefined> {
  return { doc: inner.doc, parse: (raw) => inner.parse(raw), fallback: () => undefined, ...(inner.secret ? { secret: true } : {}) };
}

export function str(opts: Options<string> & { minLength?: number }): Setting<string> {
  return setting(opts, (raw) => {
    if (opts.minLength !== undefined && raw.length < opts.minLength) {
      throw new Error(`expected at least ${opts.minLength} characters`);
    }
    return raw;
  });
}

export function int(opts: Options<number> & { min?: number; max?: number }): Setting<number> {
  return setting(opts, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error("expected an integer");
    const n = Number(raw);
    if (opts.min !== undefined && n < opts.min) throw new Error(`expected an integer >= ${opts.min}`);
    if (opts.max !== undefined && n > opts.max) throw new Error(`expected an integer <= ${opts.max}`);
    return n;
  });
}

export function port(opts: Options<number>): Setting<number> {
  return int({ ...opts, min: 0, max: 65535 });
}

export function bool(opts: Options<boolean>): Setting<boolean> {
  return setting(opts, (raw) => {
    const v = raw.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    throw new Error("expected true or false");
  });
}

export function oneOf<const T extends string>(values: readonly T[], opts: Options<T>): Setting<T> {
  return setting(opts, (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`expected one of ${values.join(", ")}`);
    return raw as T;
  });
}

export function url(opts: Options<string> & { protocols?: readonly string[] }): Setting<string> {
  return setting(opts, (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error("expected a URL");
    }
    if (opts.protocols && !opts.protocols.includes(parsed.protocol.replace(/:$/, ""))) {
      throw new Error(`expected a URL with scheme ${opts.protocols.join(" or ")}`);
    }
    return raw;
  });
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Durations like `250ms`, `5s`, `2m`, `1h`; a bare number is milliseconds. Returns milliseconds. */
export function duration(opts: Options<number>): Setting<number> {
  return setting(opts, (raw) => parseDuration(raw));
}

export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new Error("expected a duration such as 500ms, 5s, 2m or 1h");
  return Math.round(Number(m[1]) * durationUnits[m[2] ?? "ms"]!);
}

/** A comma-separated list, empty items dropped. */
export function list(opts: Options<readonly string[]>): Setting<readonly string[]> {
  return setting(opts, (raw) => raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0));
}

export function loadConfig<S extends Spec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || raw === "") {
      if (s.fallback) out[name] = s.fallback();
      else problems.push(`${name} is required (${s.doc})`);
      continue;
    }
    try {
      out[name] = s.parse(raw);
    } catch (err) {
      // The raw value is deliberately not echoed: it may be a secret.
      problems.push(`${name} is malformed: ${(err as Error).message} (${s.doc})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

/** The configuration as it is safe to print at start-up: secrets masked. */
export function describeConfig<S extends Spec>(spec: S, config: ConfigOf<S>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(spec)) {
    const v = (config as Record<string, unknown>)[name];
    out[name] = s.secret && v !== undefined ? "***" : v;
  }
  return out;
}
