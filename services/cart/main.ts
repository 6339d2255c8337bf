// The cart service as its own process (a container's entry point). See README.md.
import { runServiceMain } from "../../platform/service.js";
import { cartModule } from "./module.js";

await runServiceMain(cartModule);
