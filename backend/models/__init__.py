"""The backend's SQLAlchemy models. Import every model module here, so that
Alembic's autogenerate (which reads Base.metadata) sees all of them."""

from models.auth import session_table, user_table
from models.base import BACKEND_SCHEMA, Base
from models.note import Note  # the sample
