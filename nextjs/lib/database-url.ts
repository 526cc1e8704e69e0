// node-postgres reads sslmode=require and verify-ca as verify-full (and prints a
// SECURITY WARNING) unless uselibpqcompat=true is given (brianc/node-postgres#3473).
// With it, sslmode means what it means to libpq and Alembic. `make` passes URLs
// with it already; this covers `next start` and the raw drizzle-kit. sslmode=no-verify
// exists for node-postgres only, and the flag would turn it into verify-full.
export function withLibpqSslmode(url: string | undefined): string | undefined {
  if (!url || !/[?&]sslmode=/.test(url) || /[?&](uselibpqcompat|sslmode=no-verify)\b/.test(url)) {
    return url;
  }
  return `${url}${url.includes("?") ? "&" : "?"}uselibpqcompat=true`;
}
