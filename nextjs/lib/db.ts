import { drizzle } from "drizzle-orm/node-postgres";

// The pool connects lazily, so tools that only load this file (the Better Auth
// CLI's `generate`) never open a connection.
export const db = drizzle(process.env.DATABASE_URL!);
