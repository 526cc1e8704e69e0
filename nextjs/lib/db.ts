import { drizzle } from "drizzle-orm/node-postgres";
import { withLibpqSslmode } from "./database-url";

// The pool connects lazily, so tools that only load this file (the Better Auth
// CLI's `generate`) never open a connection.
export const db = drizzle(withLibpqSslmode(process.env.DATABASE_URL)!);
