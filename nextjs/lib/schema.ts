// The frontend's Drizzle schema: drizzle.config.ts reads this file, and `make
// migration-frontend` turns changes in it into SQL under drizzle/.
//
// Better Auth's tables are generated into ../auth-schema.ts by `make auth-schema`
// (which overwrites that file): they are re-exported here, never edited there.
export * from "../auth-schema";

// Your app's own tables go below (docs/your-app.md), for example:
//
//   import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
//   import { user } from "../auth-schema";
//
//   export const project = pgTable("project", {
//     id: text("id").primaryKey(),
//     ownerId: text("owner_id").notNull().references(() => user.id, { onDelete: "cascade" }),
//     name: text("name").notNull(),
//     createdAt: timestamp("created_at").defaultNow().notNull(),
//   });
