// Development data of the frontend: the user to sign in with, made by Better Auth's own
// sign-up (never a password hash written by hand). `make seed` runs it (tsx seed.ts), then
// the backend's seed (backend/app/seed.py), which adds that user's rows. Yours to edit:
// add users, or rows of your own tables (lib/schema.ts). Run twice, it must change nothing.
import { existsSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { config, parse } from "dotenv";

// Settings as the backend reads them: the environment, then ENV_FILE (default .env), then
// .env.example's local defaults; loaded before lib/auth, whose pool reads DATABASE_URL.
const root = resolve(import.meta.dirname, "..");
const files = [resolve(root, process.env.ENV_FILE || ".env"), resolve(root, ".env.example")].filter(existsSync);
const passwordFrom = process.env.SEED_USER_PASSWORD
  ? "the environment"
  : relative(root, files.find((file) => parse(readFileSync(file)).SEED_USER_PASSWORD) ?? "(nowhere)");
config({ path: files, quiet: true });
const { auth } = await import("./lib/auth");
const { db } = await import("./lib/db");

const email = process.env.SEED_USER_EMAIL;
const password = process.env.SEED_USER_PASSWORD;
const name = process.env.SEED_USER_NAME || "Developer";
if (!email || !password) {
  console.error("✗ SEED_USER_EMAIL and SEED_USER_PASSWORD must be set (.env.example has local defaults)");
  process.exit(1);
}

const { internalAdapter } = await auth.$context;
if (await internalAdapter.findUserByEmail(email)) {
  console.log(`user ${email} exists already: unchanged`);
} else {
  try {
    await auth.api.signUpEmail({ body: { email, password, name } });
  } catch (error) {
    console.error(`✗ Better Auth refused to sign up ${email}: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
  console.log(`user ${email} created (Better Auth sign-up)`);
}
console.log(`Sign in at ${process.env.BETTER_AUTH_URL} as ${email}, with SEED_USER_PASSWORD (from ${passwordFrom})`);
await db.$client.end();
