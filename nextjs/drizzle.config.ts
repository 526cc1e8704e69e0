import { config } from "dotenv";
import { defineConfig } from "drizzle-kit";
import { withLibpqSslmode } from "./lib/database-url";

// The one .env of the monorepo, at its root. Variables already in the
// environment win: `make` passes DATABASE_URL that way.
config({ path: "../.env", quiet: true });

// Migrations go to the database directly, never through a transaction-mode pooler
// (docs/configuration.md); DATABASE_URL serves both when there is no pooler.
const migrationUrl = process.env.DIRECT_DATABASE_URL || process.env.DATABASE_URL;

export default defineConfig({
  schema: "./auth-schema.ts",
  out: "./drizzle",
  dialect: "postgresql",
  dbCredentials: {
    url: withLibpqSslmode(migrationUrl)!,
  },
  // The backend's tables live in the "api" schema, owned by Alembic: drizzle-kit
  // must never see them (push/pull would plan to drop them; drizzle-orm#5190).
  schemaFilter: ["public"],
});
