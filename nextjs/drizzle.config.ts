import { readFileSync } from "node:fs";
import { config, parse } from "dotenv";
import { defineConfig } from "drizzle-kit";
import { withLibpqSslmode } from "./lib/database-url";

// The one .env of the monorepo, at its root. Variables already in the
// environment win: `make` passes DATABASE_URL that way.
config({ path: "../.env", quiet: true });

// The monorepo's declaration of both migration systems: this one's schema and bookkeeping table.
const systems = parse(readFileSync("../systems.env"));

// Migrations go to the database directly, never through a transaction-mode pooler
// (docs/configuration.md); DATABASE_URL serves both when there is no pooler.
const migrationUrl = process.env.DIRECT_DATABASE_URL || process.env.DATABASE_URL;

export default defineConfig({
  schema: "./lib/schema.ts",
  out: `./${systems.FRONTEND_MIGRATIONS_DIR}`,
  dialect: "postgresql",
  dbCredentials: {
    url: withLibpqSslmode(migrationUrl)!,
  },
  // The backend's tables live in their own schema, owned by Alembic: drizzle-kit
  // must never see them (push/pull would plan to drop them; drizzle-orm#5190).
  schemaFilter: [systems.FRONTEND_SCHEMA],
  migrations: {
    schema: systems.FRONTEND_BOOKKEEPING_SCHEMA,
    table: systems.FRONTEND_BOOKKEEPING_TABLE,
  },
});
