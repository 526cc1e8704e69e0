import { config } from "dotenv";
import { defineConfig } from "drizzle-kit";

// The one .env of the monorepo, at its root. Variables already in the
// environment win: `make` passes DATABASE_URL that way.
config({ path: "../.env", quiet: true });

export default defineConfig({
  schema: "./auth-schema.ts",
  out: "./drizzle",
  dialect: "postgresql",
  dbCredentials: {
    url: process.env.DATABASE_URL!,
  },
  // The backend's tables live in the "api" schema, owned by Alembic: drizzle-kit
  // must never see them (push/pull would plan to drop them; drizzle-orm#5190).
  schemaFilter: ["public"],
});
