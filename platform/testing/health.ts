// Asks a server's standard health service for a status, as a Kubernetes gRPC probe would.
import { ChannelCredentials, makeClientConstructor } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

type CheckFn = (req: { service: string }, cb: (err: Error | null, res: { status: string }) => void) => void;

const Health = makeClientConstructor(healthService, "Health");

/** `SERVING`, `NOT_SERVING`, ... for `service` ("" is the whole server). */
export function healthStatus(address: string, service = ""): Promise<string> {
  const client = new Health(address, ChannelCredentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    (client as unknown as { check: CheckFn }).check({ service }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    });
  });
}
