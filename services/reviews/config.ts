// The reviews service's own settings, next to the platform's base ones. It keeps its data in
// MongoDB, not PostgreSQL (module.ts declares `storage: "own"`), so DATABASE_URL is not read.
import { duration, type Setting } from "../../platform/config.js";

/**
 * A MongoDB connection string. Not `url()`: a replica set's string lists several hosts
 * (`mongodb://a:27017,b:27017/reviews?replicaSet=rs0`), which the WHATWG URL parser rejects.
 */
export function mongoUrl(opts: { doc: string }): Setting<string> {
  return {
    doc: opts.doc,
    secret: true,
    parse(raw) {
      const m = /^mongodb(\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(raw.trim());
      if (!m) throw new Error("expected a mongodb:// or mongodb+srv:// connection string");
      return raw.trim();
    },
  };
}

export const reviewsConfig = {
  MONGODB_URL: mongoUrl({
    doc: "the service's MongoDB, a replica set (transactions); the path names the database (default `reviews`), e.g. mongodb://mongo:27017/reviews?replicaSet=rs0",
  }),
  MONGODB_TIMEOUT: duration({ doc: "longest wait for a MongoDB server to answer (at start-up, and to pick one for each operation)", default: 10_000 }),
};
