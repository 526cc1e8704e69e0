// Signs a user up through Better Auth's own API (nextjs/lib/auth.ts), exactly as the
// sign-up page does, and prints the session cookie Better Auth set, as JSON.
import { auth } from "../../nextjs/lib/auth";

const [email, password, name] = process.argv.slice(2);
const response = await auth.api.signUpEmail({ body: { email, password, name }, asResponse: true });
const body = await response.json();
const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0];
console.log(JSON.stringify({ status: response.status, userId: body.user?.id ?? null, cookie }));
process.exit(0);
