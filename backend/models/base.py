from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Every backend table lives in the backend's own PostgreSQL schema, which Alembic owns.
# The frontend's tables stay in "public", owned by Drizzle: the two tools never
# see each other's tables (see docs/migrations.md, "Who owns which table").
# systems.env declares the same name for the tooling (alembic/env.py checks they agree).
BACKEND_SCHEMA = "api"

# Deterministic constraint names, so autogenerate can compare and drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(schema=BACKEND_SCHEMA, naming_convention=NAMING_CONVENTION)
