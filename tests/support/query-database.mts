// One query through the Next.js app's own pool (nextjs/lib/db.ts), as `next start`
// makes it; prints whether the connection uses TLS, as JSON.
import { db } from "../../nextjs/lib/db";

const result = await db.$client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
console.log(JSON.stringify(result.rows[0]));
process.exit(0);
