// Signs a user in through Better Auth's own API (lib/auth.ts), exactly as the sign-in
// page does, and prints the answer's status and whether a session cookie was set, as JSON.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

// Run in the frontend's folder (systems.env's FRONTEND_DIR), whatever its name.
const { auth } = await import(pathToFileURL(resolve("lib/auth.ts")).href);

const [email, password] = process.argv.slice(2);
const response = await auth.api.signInEmail({ body: { email, password }, asResponse: true });
const cookie = response.headers.get("set-cookie") ?? "";
console.log(JSON.stringify({ status: response.status, session: cookie.startsWith("better-auth.session_token=") }));
process.exit(0);
