// Signs a user up through Better Auth's own API (lib/auth.ts), exactly as the
// sign-up page does, and prints the session cookie Better Auth set, as JSON.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

// Run in the frontend's folder (systems.env's FRONTEND_DIR), whatever its name.
const { auth } = await import(pathToFileURL(resolve("lib/auth.ts")).href);

const [email, password, name] = process.argv.slice(2);
const response = await auth.api.signUpEmail({ body: { email, password, name }, asResponse: true });
const body = await response.json();
const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0];
console.log(JSON.stringify({ status: response.status, userId: body.user?.id ?? null, cookie }));
process.exit(0);
