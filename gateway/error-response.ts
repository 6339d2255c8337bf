// Errors the gateway answers itself, before a request reaches Connect's handler (rate limits,
// authentication, access, oversized bodies), written in the caller's protocol so every client
// library reads them as it reads a backend's errors. The encodings come from connect-es's own
// protocol modules, so details and status codes match what its handlers produce:
//   Connect unary (and GET): HTTP status from the code, JSON error body;
//   Connect streaming:        200, one end-stream envelope carrying the error;
//   gRPC and gRPC-Web:        200, trailers-only (grpc-status, grpc-message, details in headers).
import type { IncomingHttpHeaders } from "node:http";
import type { ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { NodeResponse } from "./http-server.js";

export type RpcProtocol = "connect" | "connect-stream" | "grpc" | "grpc-web";

export function protocolOf(headers: IncomingHttpHeaders): RpcProtocol {
  const ct = headers["content-type"];
  if (ct === undefined || !ct.startsWith("application/")) return "connect";
  if (ct.startsWith("application/grpc-web")) return "grpc-web";
  if (ct.startsWith("application/grpc")) return "grpc";
  if (ct.startsWith("application/connect+")) return "connect-stream";
  return "connect";
}

export interface ErrorResponseOptions {
  /** Extra headers (CORS, Connection: close). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Connect unary only: a more specific HTTP status than the code's (413 for a body over the limit). */
  readonly httpStatus?: number;
}

export function writeRpcError(headers: IncomingHttpHeaders, res: NodeResponse, err: ConnectError, opts: ErrorResponseOptions = {}): number {
  const protocol = protocolOf(headers);
  const out: Record<string, string> = { ...opts.headers };
  if (protocol === "grpc" || protocol === "grpc-web") {
    setTrailerStatus(new Headers(), err).forEach((v, k) => (out[k] = v));
    out["content-type"] = headers["content-type"]!;
    res.writeHead(200, out);
    res.end();
    return 200;
  }
  err.metadata.forEach((v, k) => (out[k] = v));
  if (protocol === "connect-stream") {
    const end = new TextEncoder().encode(JSON.stringify(endStreamToJson(err.metadata, err, undefined)));
    const body = encodeEnvelope(endStreamFlag, end);
    out["content-type"] = headers["content-type"]!;
    res.writeHead(200, out);
    res.end(body);
    return 200;
  }
  const body = errorToJsonBytes(err, {});
  const status = opts.httpStatus ?? codeToHttpStatus(err.code);
  out["content-type"] = "application/json";
  out["content-length"] = String(body.byteLength);
  res.writeHead(status, out);
  res.end(body);
  return status;
}
