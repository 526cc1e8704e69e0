# Images of the monorepo, one build target each (docker-compose.yml names them):
#   backend   the FastAPI app: its runtime dependencies only, as an unprivileged user
#   frontend  the Next.js app: its standalone server (output: "standalone"), as an unprivileged user
#             Both app images are FROM scratch: only the files the app runs on (the interpreter,
#             the libraries ldd reports for it, the app), collected by docker/rootfs.sh.
#   migrate   `make migrate`, the same entry point as on a laptop: pre-flight, lock, check,
#             Drizzle then Alembic. Run once per release, before the apps (docs/migrations.md).
# Inside a container servers listen on 0.0.0.0; docker-compose.yml publishes them on 127.0.0.1.
# Sizes, and how the compose test proves the images: docs/deployment.md.

FROM node:24-bookworm-slim AS node

# ---- Build stages -------------------------------------------------------------------------

FROM python:3.11-slim-bookworm AS python-build
RUN pip install --no-cache-dir uv==0.13.8
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_DEV=1 UV_FROZEN=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY backend backend
# The backend's own dependencies: none of the tooling's, none of the dev group.
RUN uv sync --package backend --no-dev

FROM node AS frontend-deps
WORKDIR /app/nextjs
COPY nextjs/package.json nextjs/package-lock.json ./
RUN npm ci

FROM frontend-deps AS frontend-build
COPY nextjs ./
# The API's address inside the compose network; rewrites are fixed at build time.
ARG BACKEND_URL=http://backend:8000
ENV BACKEND_URL=$BACKEND_URL NEXT_TELEMETRY_DISABLED=1
# public/ is optional in a Next.js app; the image copies it either way.
RUN mkdir -p public && npx next build

# What drizzle-kit needs to migrate and check, without what only the Next.js app, its build or
# the editor use (the image brings its own Node, so not the `node` package either).
FROM frontend-deps AS migration-node-modules
RUN rm -rf node_modules/next node_modules/@next node_modules/node node_modules/.bin/node \
    node_modules/@biomejs node_modules/typescript node_modules/@img node_modules/@tktco \
    node_modules/react-dom node_modules/@types

# pg_dump of the server's own major version (an older pg_dump refuses to dump a newer server),
# from the PostgreSQL image without its server (nor the server's LLVM).
FROM postgres:18 AS postgres-client
RUN set -eux; \
    server=$(dpkg-query -W -f '${Package}\n' | grep -E '^postgresql-[0-9]+$'); \
    apt-mark manual "postgresql-client-${server#postgresql-}" >/dev/null; \
    apt-get purge -y --auto-remove "$server"; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates make python3; \
    rm -rf /var/lib/apt/lists/*

# ---- backend ------------------------------------------------------------------------------

# The venv, the interpreter its python links to and that interpreter's standard library, wherever
# the base image keeps them (/usr/local on the official image), without what only a developer
# uses (tests, IDLE, Tk, ensurepip, the base's own pip); /bin/sh for the entry point; the
# libraries ldd reports for all of them; the CA certificates.
FROM python-build AS backend-rootfs
COPY docker/rootfs.sh /usr/local/bin/
RUN set -eu; \
    stdlib=$(/app/.venv/bin/python -I -S -c 'import sysconfig; print(sysconfig.get_path("stdlib"))'); \
    dynload=$(/app/.venv/bin/python -I -S -c 'import sys; print(*[p for p in sys.path if p.endswith("lib-dynload")])'); \
    cd "$stdlib"; \
    rm -rf test idlelib tkinter turtledemo ensurepip lib2to3 pydoc_data site-packages dist-packages config-*; \
    cd "$dynload"; rm -f _test*.so _xxtestfuzz*.so xxlimited*.so _ctypes_test*.so; \
    rootfs.sh /rootfs /app/.venv "$stdlib" "$dynload" /bin/sh /etc/nsswitch.conf /etc/ssl/certs/ca-certificates.crt; \
    mkdir -m 1777 /rootfs/tmp

FROM scratch AS backend
COPY --from=backend-rootfs /rootfs /
# The unprivileged user app (uid 10001), and root.
COPY docker/passwd docker/group /etc/
WORKDIR /app/backend
COPY backend/app app
COPY backend/models models
COPY docker/app-entrypoint.sh /usr/local/bin/
ENV PATH=/app/.venv/bin:/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER app
EXPOSE 8000
ENTRYPOINT ["app-entrypoint.sh"]
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]

# ---- frontend -----------------------------------------------------------------------------

# The node binary, /bin/sh for the entry point, the standalone server (it carries the
# node_modules it uses; static files and public/ are served beside it), and the libraries ldd
# reports for all of them (native addons included).
FROM node AS frontend-rootfs
COPY docker/rootfs.sh /usr/local/bin/
COPY --from=frontend-build /app/nextjs/.next/standalone /app
COPY --from=frontend-build /app/nextjs/.next/static /app/.next/static
COPY --from=frontend-build /app/nextjs/public /app/public
RUN set -eu; \
    rootfs.sh /rootfs "$(command -v node)" /bin/sh /etc/nsswitch.conf /app; \
    # Next.js writes its cache under .next: the app's files belong to the user app of docker/passwd.
    chown -R 10001:10001 /rootfs/app; \
    mkdir -m 1777 /rootfs/tmp

FROM scratch AS frontend
COPY --from=frontend-rootfs /rootfs /
COPY docker/passwd docker/group /etc/
COPY docker/app-entrypoint.sh /usr/local/bin/
ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 \
    HOSTNAME=0.0.0.0 PORT=3000
WORKDIR /app
USER app
EXPOSE 3000
ENTRYPOINT ["app-entrypoint.sh"]
CMD ["node", "server.js"]

# ---- migrate ------------------------------------------------------------------------------

# Copied onto an empty image rather than built FROM postgres:18, which declares
# VOLUME /var/lib/postgresql: every migrate container would leave an anonymous volume behind.
FROM scratch AS migrate
COPY --from=postgres-client / /
ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY --from=node /usr/local/bin/node /usr/local/bin/
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
COPY --from=python-build /usr/local/bin/uv /usr/local/bin/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
# UV_SYSTEM_CERTS: the system's certificates (this image's Python is the Debian one of the base).
ENV UV_LINK_MODE=copy UV_NO_DEV=1 UV_FROZEN=1 UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1
WORKDIR /app
COPY pyproject.toml uv.lock Makefile .env.example systems.env ./
COPY backend backend
COPY scripts scripts
# Compiled once here (in ENV, every `uv run` of make migrate would compile them again).
# The stamp tells make the environment is in sync (the Makefile's .venv/.synced).
RUN UV_COMPILE_BYTECODE=1 uv sync --no-dev && touch .venv/.synced
COPY --from=migration-node-modules /app/nextjs/node_modules nextjs/node_modules
COPY nextjs nextjs
# The packages are those of this lock file: newer than it, so that make does not install them again.
RUN touch nextjs/node_modules/.package-lock.json
CMD ["make", "migrate"]
