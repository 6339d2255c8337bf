// A service that brings its own store (`storage: "own"`, as reviews does with MongoDB): the
// bootstrap opens no PostgreSQL and needs no DATABASE_URL, the module's readiness checks join
// the platform's, and its own parts stop with it. Runs without any database.
import assert from "node:assert/strict";
import { configSpec, startService, type ServiceModule } from "../service.js";
import { healthStatus } from "../testing/health.js";
import { waitFor } from "../testing/wait-for.js";

function ownStoreModule(state: { ready: boolean; stopped: boolean }): ServiceModule<Record<string, never>, "own"> {
  return {
    name: "own-store",
    defaultPort: 0,
    storage: "own",
    setup({ db, onStop }) {
      assert.equal(db, undefined, "no PostgreSQL for a service with its own store");
      onStop(() => void (state.stopped = true));
      return { readiness: [{ name: "own-store", check: () => Promise.resolve(state.ready) }] };
    },
  };
}

describe("service bootstrap with a store of the module's own", () => {
  it("needs no DATABASE_URL, reports the module's readiness, and runs the module's stops", async () => {
    const state = { ready: false, stopped: false };
    const mod = ownStoreModule(state);
    assert.equal("DATABASE_URL" in configSpec(mod) && configSpec(mod).DATABASE_URL.fallback === undefined, false);
    const svc = await startService(mod, { GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", LOG_LEVEL: "error" });
    try {
      const address = `127.0.0.1:${svc.port}`;
      await waitFor("NOT_SERVING while the store is not ready", async () => (await healthStatus(address)) === "NOT_SERVING" || undefined);
      state.ready = true;
      await waitFor("SERVING once it is", async () => (await healthStatus(address)) === "SERVING" || undefined, { timeoutMs: 15_000 });
    } finally {
      await svc.stop();
    }
    assert.equal(state.stopped, true);
  });
});
