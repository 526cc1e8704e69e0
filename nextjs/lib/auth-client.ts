import { createAuthClient } from "better-auth/react";

// Same origin as the pages: Better Auth is mounted at /api/auth.
export const authClient = createAuthClient();
