// The catalog service's own settings, next to the platform's base ones.
import { bool } from "../../platform/config.js";

export const catalogConfig = {
  SEED_DEMO_CATALOG: bool({ doc: "load the demo catalog at start-up when the catalog has no products (development clusters)", default: false }),
};
