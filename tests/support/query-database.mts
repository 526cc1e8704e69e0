// One query through the Next.js app's own pool (lib/db.ts), as `next start`
// makes it; prints whether the connection uses TLS, as JSON.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

// Run in the frontend's folder (systems.env's FRONTEND_DIR), whatever its name.
const { db } = await import(pathToFileURL(resolve("lib/db.ts")).href);

const result = await db.$client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
console.log(JSON.stringify(result.rows[0]));
process.exit(0);
