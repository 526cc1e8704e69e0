"""The API's one engine and its sessions, on DATABASE_URL (the migrations may use DIRECT_DATABASE_URL)."""

from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from app.database_url import for_sqlalchemy
from app.settings import load_settings


@lru_cache(maxsize=1)
def engine() -> Engine:
    settings = load_settings()
    if empty := settings.empty_url:
        raise RuntimeError(f"{empty} is set but empty: give it the database's URL, or unset it")
    database_url = settings.database_url
    if not database_url:
        raise RuntimeError("DATABASE_URL is not set: cp .env.example .env")
    return create_engine(for_sqlalchemy(database_url), pool_pre_ping=True)


def get_session() -> Iterator[Session]:
    with Session(engine()) as session:
        yield session
