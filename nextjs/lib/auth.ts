import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import * as schema from "../auth-schema";
// Relative imports only: the Better Auth CLI cannot resolve tsconfig path
// aliases when it loads this file (better-auth#3762).
import { db } from "./db";

export const auth = betterAuth({
  database: drizzleAdapter(db, { provider: "pg", schema }),
  emailAndPassword: {
    enabled: true,
  },
});
