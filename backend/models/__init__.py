"""The backend's SQLAlchemy models. Import every model module here, so that
Alembic's autogenerate (which reads Base.metadata) sees all of them."""

from models.auth import user_table
from models.base import SCHEMA, Base
from models.note import Note

__all__ = ["SCHEMA", "Base", "Note", "user_table"]
