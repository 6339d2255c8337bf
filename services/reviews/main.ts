// The reviews service as its own process (a container's entry point). See README.md.
import { runServiceMain } from "../../platform/service.js";
import { reviewsModule } from "./module.js";

await runServiceMain(reviewsModule);
