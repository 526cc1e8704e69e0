#!/bin/sh
# Entry point of the app images (backend, frontend): they refuse to start without a secret of
# your own, in one line, before the server starts. docker-compose.yml passes BETTER_AUTH_SECRET
# possibly empty, so that compose commands other than `up` (logs, ps, down) never need it.
set -eu
# .env.example's value, public: never a production secret.
placeholder=change-me-local-development-only-secret
case "${BETTER_AUTH_SECRET:-}" in
  "" | "$placeholder")
    echo "✗ BETTER_AUTH_SECRET is not set (or is .env.example's placeholder): put your own in .env (openssl rand -base64 32), then docker compose up again" >&2
    exit 17
    ;;
esac
exec "$@"
