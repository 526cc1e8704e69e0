"""Better Auth's tables, as far as the backend refers to them.

They are created and migrated by the frontend (nextjs/auth-schema.ts, Drizzle).
They are declared here only so that foreign keys to them resolve; Alembic never
creates, alters or drops them (alembic/env.py only compares the "api" schema).
"""

from sqlalchemy import BLANK_SCHEMA, Column, Table, Text

from models.base import Base

user_table = Table(
    "user",
    Base.metadata,
    Column("id", Text, primary_key=True),
    # On the search path ("public"), as PostgreSQL reports it when reflecting
    # the foreign key; BLANK_SCHEMA overrides the metadata's default "api".
    schema=BLANK_SCHEMA,
)
