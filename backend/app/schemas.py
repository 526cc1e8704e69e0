"""Which PostgreSQL schema belongs to which migration system.

Both tools share one database, and each owns its own schemas (docs/migrations.md,
"Who owns which table"). Kept apart from the models so that the migration
scripts can read it without importing SQLAlchemy.
"""

BACKEND_SCHEMA = "api"  # the backend's tables and alembic_version: Alembic's
FRONTEND_SCHEMA = "public"  # Better Auth's tables: Drizzle's
DRIZZLE_SCHEMA = "drizzle"  # drizzle-kit's record of applied migrations (its default)
