#!/bin/sh
# Entry point of the app images (backend, frontend): they refuse to start without a secret of
# your own, in one line, before the server starts. docker-compose.yml passes BETTER_AUTH_SECRET
# possibly empty, so that compose commands other than `up` (logs, ps, down) never need it.
set -eu
# .env.example's value, public: never a production secret.
placeholder=change-me-local-development-only-secret
# A short secret can be guessed, and with it every session cookie forged (openssl rand -base64 32: 44).
minimum=32
secret=${BETTER_AUTH_SECRET:-}
case "$secret" in
  "" | "$placeholder")
    echo "✗ BETTER_AUTH_SECRET is not set (or is .env.example's placeholder): put your own in .env (openssl rand -base64 32), then docker compose up again" >&2
    exit 17
    ;;
esac
if [ "${#secret}" -lt "$minimum" ]; then
  echo "✗ BETTER_AUTH_SECRET is too short (${#secret} characters, at least $minimum): put your own in .env (openssl rand -base64 32), then docker compose up again" >&2
  exit 17
fi
exec "$@"
