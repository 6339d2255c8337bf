// JSON-lines logging with the active trace and span ids, and redaction of secrets.
//
// Redaction works on two levels: keys whose names look sensitive (password, token, secret,
// authorization, card number, cvc...) are replaced wholesale, and string values anywhere are
// scrubbed of things that look like bearer tokens/JWTs or card numbers (13-19 digits passing
// the Luhn check), so a secret that slips into a message or an error text still never lands
// in a log file.
import { trace } from "@opentelemetry/api";

export type LogLevel = "debug" | "info" | "warn" | "error";
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  isEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  /** Where lines go; stdout by default. Tests pass an array-backed sink. */
  write?: (line: string) => void;
}

const sensitiveKey =
  /pass(word|wd)?|secret|token|authorization|cookie|api[-_]?key|private[-_]?key|card[-_]?number|^pan$|^cvc$|^cvv$|credential/i;
const bearerOrJwt = /\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const digitRuns = /\b(?:\d[ -]?){12,18}\d\b/g;

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function redactString(s: string): string {
  let out = s.replace(bearerOrJwt, (_m, bearer: string | undefined) => `${bearer ?? ""}[REDACTED]`);
  out = out.replace(digitRuns, (m) => {
    const digits = m.replace(/[ -]/g, "");
    return luhnValid(digits) ? "[REDACTED-PAN]" : m;
  });
  return out;
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return typeof value === "bigint" ? value.toString() : value;
  if (depth > 6) return "[…]";
  if (value instanceof Error) {
    return { name: value.name, message: redactString(value.message), ...("code" in value ? { code: value.code } : {}) };
  }
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = sensitiveKey.test(k) && v !== undefined && v !== null && v !== "" ? "[REDACTED]" : redact(v, depth + 1);
  }
  return out;
}

export function createLogger(opts: LoggerOptions): Logger {
  const threshold = levelRank[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const make = (bound: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (levelRank[level] < threshold) return;
      const span = trace.getActiveSpan()?.spanContext();
      const record: LogFields = {
        time: new Date().toISOString(),
        level,
        service: opts.service,
        msg: redactString(msg),
        ...(span ? { trace_id: span.traceId, span_id: span.spanId } : {}),
        ...(redact({ ...bound, ...fields }) as LogFields),
      };
      write(JSON.stringify(record));
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...bound, ...fields }),
      isEnabled: (level) => levelRank[level] >= threshold,
    };
  };
  return make({});
}
