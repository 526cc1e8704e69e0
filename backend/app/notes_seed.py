"""The sample's development rows: a few notes for the seeded user (`make seed`, through
app/seed.py). It goes with the sample: docs/your-app.md, "Remove the sample"."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Note

SAMPLE_NOTES = {
    "Welcome": "This note was added by make seed (backend/app/notes_seed.py).",
    "Stored by the API": "Notes live in the backend's api.note table; the user in Better Auth's.",
    "Try it": "Write a note above, reload the page: it stays.",
}


def add_sample_notes(session: Session, user_id: str) -> None:
    """The sample notes the user does not have yet, by title: a second run adds none."""
    present = set(session.scalars(select(Note.title).where(Note.user_id == user_id)))
    missing = [Note(user_id=user_id, title=t, body=body) for t, body in SAMPLE_NOTES.items() if t not in present]
    session.add_all(missing)
    session.flush()
    print(f"notes: {len(missing)} sample note(s) added" if missing else "notes: the sample notes exist already")
