// The outbox and inbox tables, as a migration set every service that produces or consumes
// events applies next to its own: `migrate(db, [eventsMigrationSet, serviceSet])`.
// The SQL lives in the source tree because tsc does not copy it to dist/.
import type { MigrationSet } from "../db/migrate.js";
import { sourcePath } from "../paths.js";

export const eventsMigrationSet: MigrationSet = {
  name: "platform-events",
  dir: sourcePath("platform", "events", "migrations"),
};
