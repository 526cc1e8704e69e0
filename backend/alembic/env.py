from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlalchemy.schema import CreateSchema

from app.database_url import InvalidDatabaseUrl, for_sqlalchemy
from app.settings import ConfigError, load_settings
from models import BACKEND_SCHEMA, Base

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def database_url():
    """The migration URL (DIRECT_DATABASE_URL, else DATABASE_URL), normalised as the Makefile's tools get it."""
    name = "DATABASE_URL"
    try:
        settings = load_settings()
        name, raw = settings.migration_url_name, settings.migration_database_url
        if not raw:
            raise ConfigError("it is not set: cp .env.example .env")
        return for_sqlalchemy(raw)
    except (ConfigError, InvalidDatabaseUrl) as error:
        raise SystemExit(f"{name}: {error}") from None


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
    version_table_schema=BACKEND_SCHEMA,
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
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
        url=database_url(),
    )

    with connectable.connect() as connection:
        context.configure(connection=connection, **ownership)

        with context.begin_transaction():
            # The version table lives in the backend's schema, so it must exist first.
            connection.execute(CreateSchema(BACKEND_SCHEMA, if_not_exists=True))
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
