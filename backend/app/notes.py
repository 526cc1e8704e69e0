"""The sample: notes of the signed-in user. docs/your-app.md, "Remove the sample", lists
what goes with it when you start your own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import current_user_id
from app.db import get_session
from app.limits import StorableText
from models import Note

router = APIRouter(prefix="/notes", tags=["notes"])

UserId = Annotated[str, Depends(current_user_id)]
Db = Annotated[Session, Depends(get_session)]


class NoteIn(BaseModel):
    title: StorableText = Field(min_length=1, max_length=200)
    body: StorableText = Field(default="", max_length=10_000)


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    created_at: datetime


@router.get("")
def list_notes(user_id: UserId, db: Db) -> list[NoteOut]:
    notes = db.scalars(select(Note).where(Note.user_id == user_id).order_by(Note.created_at.desc(), Note.id.desc()))
    return [NoteOut.model_validate(note) for note in notes]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_note(note: NoteIn, user_id: UserId, db: Db) -> NoteOut:
    created = Note(user_id=user_id, title=note.title, body=note.body)
    db.add(created)
    db.commit()
    db.refresh(created)
    return NoteOut.model_validate(created)


@router.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_note(note_id: Annotated[int, Path(ge=1, le=2**63 - 1)], user_id: UserId, db: Db) -> None:
    note = db.get(Note, note_id)
    # Another user's note answers as a missing one: its existence is not disclosed.
    if note is None or note.user_id != user_id:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="no such note")
    db.delete(note)
    db.commit()
