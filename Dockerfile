# Images of the monorepo, one build target each (docker-compose.yml names them):
#   backend   the FastAPI app          frontend  the Next.js app (production build)
#   migrate   `make migrate`, the same entry point as on a laptop: pre-flight, lock, check,
#             Drizzle then Alembic. Run once per release, before the apps (docs/migrations.md).
# Inside a container servers listen on 0.0.0.0; docker-compose.yml publishes them on 127.0.0.1.

FROM node:24-bookworm-slim AS node

FROM python:3.11-slim-bookworm AS python
RUN pip install --no-cache-dir uv==0.13.8
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_DEV=1 UV_FROZEN=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock systems.env ./
COPY backend backend
COPY scripts scripts
RUN uv sync --no-dev

FROM python AS backend
EXPOSE 8000
WORKDIR /app/backend
CMD ["uv", "run", "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]

FROM node AS frontend-build
WORKDIR /app/nextjs
COPY nextjs/package.json nextjs/package-lock.json ./
RUN npm ci
COPY nextjs ./
# The API's address inside the compose network; rewrites are fixed at build time.
ARG BACKEND_URL=http://backend:8000
ENV BACKEND_URL=$BACKEND_URL NEXT_TELEMETRY_DISABLED=1
RUN npx next build

FROM frontend-build AS frontend
ENV NODE_ENV=production
EXPOSE 3000
CMD ["npx", "next", "start", "--hostname", "0.0.0.0", "--port", "3000"]

# On the PostgreSQL image, so that the backup taken before a production migration uses
# the server's own pg_dump version (an older pg_dump refuses to dump a newer server).
FROM postgres:18 AS migrate
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip make \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir --break-system-packages uv==0.13.8
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_DEV=1 UV_FROZEN=1 UV_PYTHON_DOWNLOADS=never
COPY --from=node /usr/local /usr/local
WORKDIR /app
COPY pyproject.toml uv.lock Makefile .env.example systems.env ./
COPY backend backend
COPY scripts scripts
RUN uv sync --no-dev
COPY --from=frontend-build /app/nextjs /app/nextjs
CMD ["make", "migrate"]
