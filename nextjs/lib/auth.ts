import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
// Relative imports only: the Better Auth CLI cannot resolve tsconfig path
// aliases when it loads this file (better-auth#3762).
import { db } from "./db";
import * as schema from "./schema";

// .env.example's value, public: a production server must never run with it (nor without one).
const PLACEHOLDER_SECRET = "change-me-local-development-only-secret";
const isProductionServer = process.env.NODE_ENV === "production" && process.env.NEXT_PHASE !== "phase-production-build";
if (isProductionServer && [undefined, "", PLACEHOLDER_SECRET].includes(process.env.BETTER_AUTH_SECRET)) {
  throw new Error(
    "BETTER_AUTH_SECRET is not set (or is .env.example's placeholder): set your own, e.g. openssl rand -base64 32",
  );
}
// A short secret can be guessed, and with it every session cookie forged.
if (isProductionServer && (process.env.BETTER_AUTH_SECRET ?? "").length < 32) {
  throw new Error("BETTER_AUTH_SECRET is too short (at least 32 characters): e.g. openssl rand -base64 32");
}

export const auth = betterAuth({
  database: drizzleAdapter(db, { provider: "pg", schema }),
  emailAndPassword: {
    enabled: true,
  },
});
