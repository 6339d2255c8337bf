// The parts of SMTP (RFC 5321) that are pure text: reading replies, which may span several
// lines ("250-first", "250-second", "250 last"), and dot-stuffing the message for DATA.

export interface SmtpReply {
  readonly code: number;
  /** One entry per line, without the code and separator. */
  readonly lines: readonly string[];
}

export interface ReplyParser {
  /** Feeds received text; returns the replies it completed, in order. */
  push(chunk: string): SmtpReply[];
  /** Text received but not yet part of a complete reply (must be empty right after STARTTLS's 220). */
  pending(): string;
}

const REPLY_LINE = /^(\d{3})([ -]?)(.*)$/;

/** Thrown for a line that is not a reply: the session cannot be trusted any more. */
export class SmtpProtocolError extends Error {
  override readonly name = "SmtpProtocolError";
}

export function createReplyParser(): ReplyParser {
  let buffer = "";
  let code: number | undefined;
  let lines: string[] = [];
  return {
    push(chunk) {
      buffer += chunk;
      const done: SmtpReply[] = [];
      for (let eol = buffer.indexOf("\n"); eol >= 0; eol = buffer.indexOf("\n")) {
        const line = buffer.slice(0, eol).replace(/\r$/, "");
        buffer = buffer.slice(eol + 1);
        const m = REPLY_LINE.exec(line);
        if (!m) throw new SmtpProtocolError(`not an SMTP reply line: ${line.slice(0, 80)}`);
        const lineCode = Number(m[1]);
        if (code !== undefined && lineCode !== code) throw new SmtpProtocolError(`reply code changed from ${code} to ${lineCode} within one reply`);
        code = lineCode;
        lines.push(m[3]!);
        // "250 text" and a bare "250" end a reply; "250-text" continues it.
        if (m[2] !== "-") {
          done.push({ code, lines });
          code = undefined;
          lines = [];
        }
      }
      return done;
    },
    pending: () => buffer + (code === undefined ? "" : "<partial reply>"),
  };
}

/** The reply as one short line for logs and failure reasons. */
export function describeReply(r: SmtpReply): string {
  const text = r.lines.join(" ").trim();
  return `${r.code}${text ? ` ${text.length > 200 ? text.slice(0, 200) + "..." : text}` : ""}`;
}

/**
 * The message as DATA sends it: CRLF line ends, a "." doubled at the start of every line that
 * begins with one (so no line of the message reads as the end marker), and the end marker.
 */
export function dotStuff(message: string): string {
  const lines = message.replace(/\r\n?/g, "\n").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => (l.startsWith(".") ? "." + l : l)).join("\r\n") + "\r\n.\r\n";
}

/** Keywords of an EHLO reply: `{ "AUTH": ["PLAIN", "LOGIN"], "STARTTLS": [] }`. The first line is the greeting. */
export function ehloExtensions(r: SmtpReply): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of r.lines.slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (keyword) out.set(keyword.toUpperCase(), params.map((p) => p.toUpperCase()));
  }
  return out;
}
