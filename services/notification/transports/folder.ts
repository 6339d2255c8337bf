// The development transport: each mail becomes `<notification id>.eml` in a folder (any mail
// client opens it). Written to a temporary name and renamed, so a reader never sees half a file.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MailError, type MailSession, type MailTransport } from "./transport.js";

export interface FolderTransportOptions {
  readonly dir: string;
}

const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

export function createFolderTransport(opts: FolderTransportOptions): MailTransport & { fileFor(id: string): string } {
  const fileFor = (id: string) => join(opts.dir, `${id}.eml`);
  return {
    name: "folder",
    fileFor,
    async open(): Promise<MailSession> {
      try {
        await mkdir(opts.dir, { recursive: true });
      } catch (err) {
        throw new MailError(`cannot create the mail outbox folder: ${(err as Error).message}`, { cause: err });
      }
      return {
        async send(envelope, message) {
          const id = /^Message-ID: <([^@>]+)@/im.exec(message)?.[1];
          if (!id || !SAFE_NAME.test(id)) throw new MailError("message without a usable Message-ID", { permanent: true });
          const file = fileFor(id);
          const tmp = `${file}.${process.pid}.tmp`;
          try {
            // The envelope recipient is not in RFC 5322 headers; X-Envelope-To keeps it visible.
            await writeFile(tmp, `X-Envelope-To: ${envelope.to}\r\n${message}`);
            await rename(tmp, file);
          } catch (err) {
            throw new MailError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
          }
        },
        async close() {},
      };
    },
  };
}
