import os
import random
import time
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from alembic.autogenerate import compare_metadata
from dotenv import dotenv_values
from sqlalchemy import ForeignKeyConstraint, engine_from_config, pool, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoReferencedTableError
from sqlalchemy.schema import CreateSchema
from sqlalchemy.sql.elements import conv

from models import Base

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata

# The repository's declaration of both migration systems (systems.env), read here rather
# than through the app, so that restructuring the app never breaks its migrations.
REPO_ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = dotenv_values(REPO_ROOT / "systems.env")
if not SYSTEMS.get("BACKEND_SCHEMA"):
    raise SystemExit(f"{REPO_ROOT / 'systems.env'} is missing or declares no BACKEND_SCHEMA: restore it from git")
BACKEND_SCHEMA = SYSTEMS["BACKEND_SCHEMA"]
if target_metadata.schema != BACKEND_SCHEMA:
    raise SystemExit(
        f"models: Base.metadata's schema is {target_metadata.schema!r}, but systems.env declares "
        f"BACKEND_SCHEMA={BACKEND_SCHEMA}: make them the same"
    )


def check_foreign_keys() -> None:
    """A foreign key given by name ("user.id") is looked up in the backend's schema
    ("api.user"): say how to refer to Better Auth's tables instead of failing deep inside."""
    for table in target_metadata.tables.values():
        for foreign_key in table.foreign_keys:
            try:
                _ = foreign_key.column
            except NoReferencedTableError:
                raise SystemExit(
                    f"models: {table.name}.{foreign_key.parent.name} refers to {foreign_key.target_fullname!r}, "
                    f"which no model declares (a name without a schema means the schema {BACKEND_SCHEMA!r}). "
                    "For Better Auth's tables use their column: ForeignKey(user_table.c.id), "
                    "with `from models.auth import user_table` (docs/your-app.md)"
                ) from None


# make migrate runs alembic check first, which fails on such a model too: say why, once, here.
check_foreign_keys()


def database_url() -> URL:
    """DIRECT_DATABASE_URL, else DATABASE_URL: the environment first (`make` passes both),
    else the env file (ENV_FILE, default .env), else .env.example's local defaults."""
    env_file = Path(os.environ.get("ENV_FILE") or ".env")
    env_file = env_file if env_file.is_absolute() else REPO_ROOT / env_file
    configured = {**(dotenv_values(env_file) if env_file.is_file() else {}), **os.environ}
    names = ("DIRECT_DATABASE_URL", "DATABASE_URL")
    if not any(configured.get(name) for name in names):
        configured = dotenv_values(REPO_ROOT / ".env.example")
    name = next((name for name in names if configured.get(name)), "DATABASE_URL")
    raw = (configured.get(name) or "").strip()
    scheme, separator, rest = raw.partition("://")
    if not separator or scheme.lower() not in ("postgresql", "postgres", "postgresql+psycopg2"):
        raise SystemExit(
            f"{name} is not set or not a postgresql:// URL: cp .env.example .env (make preflight checks it)"
        )
    try:
        # Alembic connects with psycopg2, whatever the scheme people paste.
        return make_url(f"postgresql+psycopg2://{rest}")
    except ArgumentError:
        raise SystemExit(f"{name} cannot be parsed: run make preflight to see why") from None


def include_name(name, type_, parent_names):
    """Reflect only the backend's own schema: the frontend owns "public" and "drizzle"."""
    if type_ == "schema":
        return name == BACKEND_SCHEMA
    return True


def include_object(object, name, type_, reflected, compare_to):
    """Compare only backend tables: Better Auth's "user", which the models
    declare for their foreign keys, must never be created or dropped here."""
    if type_ == "table":
        return object.schema == BACKEND_SCHEMA
    return True


def render_item(type_, obj, autogen_context):
    """A foreign key to a table outside the backend's schema (Better Auth's "user") is
    rendered with its target as PostgreSQL finds it: Alembic would prefix the metadata's
    schema to it ("api.user"), a table that does not exist."""
    if type_ != "foreign_key" or not isinstance(obj, ForeignKeyConstraint):
        return False
    try:
        targets = [element.column for element in obj.elements]
    except NoReferencedTableError:
        return False  # a reflected key (a dropped table's downgrade) names its target as it is
    if any(target.table.schema is not None for target in targets):
        return False
    prefix = autogen_context.opts["sqlalchemy_module_prefix"] or ""
    options = []
    if isinstance(obj.name, conv):  # a naming-convention name, as Alembic writes it
        options.append(f"name={autogen_context.opts['alembic_module_prefix']}f({str(obj.name)!r})")
    elif obj.name is not None:
        options.append(f"name={str(obj.name)!r}")
    for option in ("onupdate", "ondelete", "initially", "deferrable", "use_alter", "match"):
        if getattr(obj, option):
            options.append(f"{option}={getattr(obj, option)!r}")
    columns = ", ".join(repr(element.parent.name) for element in obj.elements)
    referred = ", ".join(repr(f"{target.table.name}.{target.name}") for target in targets)
    return f"{prefix}ForeignKeyConstraint([{columns}], [{referred}], {', '.join(options)})"


def skip_empty_autogenerate(context, revision, directives):
    """Write no revision file when autogenerate finds no change."""
    if config.cmd_opts and getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            print("No changes in the models: no revision written.")


# Shared by offline and online mode: ownership rules and the version table's home.
ownership = dict(
    target_metadata=target_metadata,
    include_schemas=True,
    include_name=include_name,
    include_object=include_object,
    render_item=render_item,
    version_table=SYSTEMS["BACKEND_BOOKKEEPING_TABLE"],
    version_table_schema=SYSTEMS["BACKEND_BOOKKEEPING_SCHEMA"],
    process_revision_directives=skip_empty_autogenerate,
)

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def run_migrations_offline() -> None:
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    context.configure(
        url=database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        # As online mode runs them (make migrate-sql prints this): BEGIN/COMMIT around each revision.
        transaction_per_migration=True,
        **ownership,
    )

    with context.begin_transaction():
        context.execute(CreateSchema(BACKEND_SCHEMA, if_not_exists=True))
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """
    # A connection or engine handed in (Alembic's cookbook, pytest-alembic) is the one to migrate.
    connectable = config.attributes.get("connection")
    if isinstance(connectable, Connection):
        migrate(connectable)
        return
    if connectable is None:
        connectable = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
            url=database_url(),
        )

    with connectable.connect() as connection:
        # The wrapper's lock and statement timeouts (scripts/commands/migrate.py), SET in the session: a SET
        # reaches the server through any pooler, where the startup parameter `options` does not.
        # Its name and client check too (MIGRATION_SESSION): a killed run's session is told apart, and ended.
        for setting in f"{os.environ.get('MIGRATION_BOUNDS', '')} {os.environ.get('MIGRATION_SESSION', '')}".split():
            name, _, value = setting.partition("=")
            connection.execute(text("SELECT set_config(:name, :value, false)"), {"name": name, "value": value})
        connection.commit()
        migrate(connection)
        # With a transaction per revision, what comes before the first (the schema, the version
        # table) is committed by that revision: here when there was none to run.
        connection.commit()


def migrate(connection) -> None:
    # One transaction per revision: a failure leaves the revisions before it applied (as the
    # frontend's runner does), and a value added to an enum can be used by the next revision.
    context.configure(connection=connection, transaction_per_migration=True, **ownership)

    with context.begin_transaction():
        # A revision that times out on a lock is rolled back and run again (MIGRATION_LOCK_RETRIES).
        with_lock_retries(connection, lambda: run_migrations(connection))
        # make migrate asks `alembic check`'s question after applying, without a second start.
        if drift_report := os.environ.get("MIGRATE_DRIFT_REPORT"):
            Path(drift_report).write_text(repr(compare_metadata(context.get_context(), target_metadata)))


def run_migrations(connection) -> None:
    # The version table lives in the backend's schema, so it must exist first.
    connection.execute(CreateSchema(BACKEND_SCHEMA, if_not_exists=True))
    context.run_migrations()


def with_lock_retries(connection, run) -> None:
    """Run; when a revision's lock wait times out (lock_timeout, set short by make migrate so that
    the app's queries never queue long behind it), its transaction has been rolled back: wait
    with backoff and jitter, and run again from that revision (docs/migrations.md)."""
    # "retries=5 first_wait=0.5 max_wait=15" from make migrate; a raw `alembic upgrade` tries once.
    given = os.environ.get("MIGRATION_LOCK_RETRIES") or "retries=0 first_wait=0 max_wait=0"
    retry = dict(part.split("=", 1) for part in given.split())
    retries, wait, max_wait = int(retry["retries"]), float(retry["first_wait"]), float(retry["max_wait"])
    for attempt in range(1, retries + 2):
        try:
            run()
            return
        except DBAPIError as error:
            if getattr(error.orig, "pgcode", None) != "55P03" or attempt > retries:
                raise
            connection.rollback()
            pause = random.uniform(wait / 2, wait)  # noqa: S311 - jitter: runs that collided do not again
            print(
                f"lock timeout ({str(error.orig).splitlines()[0]}): attempt {attempt + 1} of {retries + 1} "
                f"in {pause:.1f} s",
                flush=True,
            )
            time.sleep(pause)
            wait = min(wait * 2, max_wait)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
