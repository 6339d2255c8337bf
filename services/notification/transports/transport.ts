// How a finished mail leaves the service. The sender claims a batch of mails, opens one session
// and hands each its bytes; the SMTP transport talks to a mail server, the folder transport
// writes .eml files (the single-process mode without SMTP_URL).

export interface Envelope {
  /** MAIL FROM: the bare address. */
  readonly from: string;
  /** RCPT TO: the bare address. */
  readonly to: string;
}

export interface MailSession {
  /** Delivers one message; throws MailError. The session stays usable after a permanent failure. */
  send(envelope: Envelope, message: string): Promise<void>;
  /** Ends the session politely (QUIT); never throws. */
  close(): Promise<void>;
}

export interface MailTransport {
  /** `smtp` or `folder`, for logs. */
  readonly name: string;
  /** Throws MailError (transient) when the server cannot be reached or refuses the session. */
  open(): Promise<MailSession>;
}

/**
 * A delivery that did not happen. `permanent` means retrying cannot help (the server rejected
 * this recipient or message with a 5xx reply); anything else is retried with backoff.
 * `sessionLost` means the session is unusable and later mails of the batch need a new one.
 */
export class MailError extends Error {
  readonly permanent: boolean;
  readonly sessionLost: boolean;

  constructor(message: string, opts: { permanent?: boolean; sessionLost?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "MailError";
    this.permanent = opts.permanent ?? false;
    this.sessionLost = opts.sessionLost ?? false;
  }
}
