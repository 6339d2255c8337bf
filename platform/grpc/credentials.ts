// Transport security from certificate files, for running outside the mesh. Inside Kubernetes
// with Istio the sidecars do mTLS and services speak plaintext to them, so both sides default
// to insecure credentials; set the file paths to have the servers and clients do TLS or mTLS
// themselves. Files are read once, at start-up, so a missing file stops the process early.
import { readFileSync } from "node:fs";
import { ChannelCredentials, ServerCredentials } from "@grpc/grpc-js";

export interface ServerTlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle for client certificates; setting it turns on mTLS. */
  readonly caFile?: string;
  /** Reject clients without a certificate signed by caFile; default true when caFile is set. */
  readonly requireClientCert?: boolean;
}

export interface ClientTlsOptions {
  /** CA bundle to verify the server; the system roots when unset. */
  readonly caFile?: string;
  /** Client certificate and key, for servers that require mTLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

export function serverCredentials(tls: ServerTlsOptions | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.caFile ? readFileSync(tls.caFile) : null;
  return ServerCredentials.createSsl(
    ca,
    [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
    tls.requireClientCert ?? ca !== null,
  );
}

export function channelCredentials(tls: ClientTlsOptions | undefined): ChannelCredentials {
  if (!tls) return ChannelCredentials.createInsecure();
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new Error("client TLS needs both certFile and keyFile, or neither");
  }
  return ChannelCredentials.createSsl(
    tls.caFile ? readFileSync(tls.caFile) : null,
    tls.keyFile ? readFileSync(tls.keyFile) : null,
    tls.certFile ? readFileSync(tls.certFile) : null,
  );
}
