"""Better Auth's tables, as far as the backend refers to them.

They are created and migrated by the frontend (nextjs/auth-schema.ts, Drizzle).
They are declared here only so that foreign keys to them resolve; Alembic never
creates, alters or drops them (alembic/env.py only compares the "api" schema).
"""

from sqlalchemy import BLANK_SCHEMA, Column, DateTime, ForeignKey, Table, Text

from models.base import Base

user_table = Table(
    "user",
    Base.metadata,
    Column("id", Text, primary_key=True),
    Column("email", Text, nullable=False),  # the seed finds its user by it (app/seed.py)
    # On the search path ("public"), as PostgreSQL reports it when reflecting
    # the foreign key; BLANK_SCHEMA overrides the metadata's default "api".
    schema=BLANK_SCHEMA,
)

# Read by the API to authenticate requests (app/auth.py): Better Auth writes it.
session_table = Table(
    "session",
    Base.metadata,
    Column("id", Text, primary_key=True),
    Column("token", Text, nullable=False, unique=True),
    Column("user_id", Text, ForeignKey(user_table.c.id), nullable=False),
    # Drizzle's timestamp without time zone, written by Better Auth in UTC.
    Column("expires_at", DateTime(timezone=False), nullable=False),
    schema=BLANK_SCHEMA,
)
