import type { NextConfig } from "next";

const backendUrl = process.env.BACKEND_URL ?? "http://127.0.0.1:8000";

const nextConfig: NextConfig = {
  // The Docker image runs .next/standalone/server.js: the server and only the files it uses.
  // (`next start`, as `make build` and the tests use the build, works with it too.)
  output: "standalone",
  // The backend API is served under the frontend's origin, so the browser sends
  // Better Auth's session cookie with every call to it: /api/PATH is the API's /PATH.
  // A fallback rewrite, so Better Auth's own route (/api/auth/...) is found first.
  async rewrites() {
    return {
      beforeFiles: [],
      afterFiles: [],
      fallback: [{ source: "/api/:path*", destination: `${backendUrl}/:path*` }],
    };
  },
};

export default nextConfig;
