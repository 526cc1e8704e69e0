"""Development data of the backend: `make seed` runs it (``python -m app.seed``) after the
frontend's seed (nextjs/seed.ts) made the user to sign in with, and adds that user's rows.

Yours to edit: add your tables' rows in :func:`seed`. Run twice, it must change nothing:
add only what is missing. Settings as the app reads them (app/settings.py).
"""

from __future__ import annotations

import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import notes_seed  # the sample
from app.db import engine
from app.settings import load_settings
from models import user_table


def seed(session: Session, user_id: str) -> None:
    """The seeded user's rows in the backend's tables."""
    notes_seed.add_sample_notes(session, user_id)  # the sample


def main() -> None:
    # Better Auth stores emails in lower case.
    email = load_settings().get("SEED_USER_EMAIL", "").lower()
    with Session(engine()) as session, session.begin():
        user_id = session.scalar(select(user_table.c.id).where(user_table.c.email == email))
        if user_id is None:
            sys.exit(f"✗ no user {email!r} in the database: the frontend's seed (nextjs/seed.ts) creates it first")
        seed(session, user_id)


if __name__ == "__main__":
    main()
