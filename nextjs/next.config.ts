import type { NextConfig } from "next";

const backendUrl = process.env.BACKEND_URL ?? "http://127.0.0.1:8000";

const nextConfig: NextConfig = {
  // The backend API is served under the frontend's origin, so the browser sends
  // Better Auth's session cookie with every call to it.
  async rewrites() {
    return [
      { source: "/api/notes", destination: `${backendUrl}/notes` },
      { source: "/api/notes/:path*", destination: `${backendUrl}/notes/:path*` },
    ];
  },
};

export default nextConfig;
