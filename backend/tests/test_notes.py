"""The notes sample's API: each signed-in user writes, lists and deletes their own notes; its seed.

Delete this file with the sample (app/notes.py, app/notes_seed.py, models/note.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from app.main import app
from app.notes_seed import SAMPLE_NOTES, add_sample_notes
from models import Note
from testing.auth import User


@pytest.fixture
def client(serve: Callable[[FastAPI], TestClient]) -> TestClient:
    return serve(app)


def write(client: TestClient, user: User, title: str, body: str = "") -> dict:
    response = client.post("/notes", json={"title": title, "body": body}, headers={"cookie": user.cookie})
    assert response.status_code == 201, response.text
    return response.json()


def listed(client: TestClient, user: User) -> list[dict]:
    response = client.get("/notes", headers={"cookie": user.cookie})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_notes_need_a_signed_in_user(client: TestClient) -> None:
    assert client.get("/notes").status_code == 401
    assert client.post("/notes", json={"title": "anonymous"}).status_code == 401
    assert client.delete("/notes/1").status_code == 401


def test_a_signed_in_user_creates_and_lists_notes(client: TestClient, users: tuple[User, User]) -> None:
    ada, _ = users

    created = write(client, ada, "first", "hello")

    assert (created["title"], created["body"]) == ("first", "hello")
    assert listed(client, ada) == [created]


def test_the_newest_note_is_listed_first(client: TestClient, users: tuple[User, User]) -> None:
    ada, _ = users
    older, newer = write(client, ada, "older"), write(client, ada, "newer")

    assert listed(client, ada) == [newer, older]


def test_a_note_without_a_title_is_refused(client: TestClient, users: tuple[User, User]) -> None:
    ada, _ = users

    response = client.post("/notes", json={"title": ""}, headers={"cookie": ada.cookie})

    assert response.status_code == 422


def test_a_user_never_sees_or_deletes_another_users_notes(client: TestClient, users: tuple[User, User]) -> None:
    ada, bob = users
    note = write(client, ada, "private")

    assert listed(client, bob) == []
    assert client.delete(f"/notes/{note['id']}", headers={"cookie": bob.cookie}).status_code == 404
    assert listed(client, ada) == [note]


def test_a_user_deletes_their_own_note(client: TestClient, users: tuple[User, User]) -> None:
    ada, _ = users
    note = write(client, ada, "temporary")

    assert client.delete(f"/notes/{note['id']}", headers={"cookie": ada.cookie}).status_code == 204
    assert listed(client, ada) == []


def test_deleting_a_better_auth_user_deletes_their_notes(
    client: TestClient, connection: Connection, users: tuple[User, User]
) -> None:
    ada, _ = users
    write(client, ada, "goes with its user")
    notes = select(func.count()).select_from(Note).where(Note.user_id == ada.id)
    assert connection.scalar(notes) == 1

    connection.execute(text('DELETE FROM "user" WHERE id = :id'), {"id": ada.id})

    assert connection.scalar(notes) == 0


def test_the_notes_endpoints_are_in_the_openapi_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert {"/notes", "/notes/{note_id}"} <= set(paths)


def test_the_sample_seed_adds_its_notes_once(
    client: TestClient, connection: Connection, users: tuple[User, User]
) -> None:
    ada, _ = users

    for _ in range(2):  # as `make seed` run twice
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session, session.begin():
            add_sample_notes(session, ada.id)

    assert sorted(note["title"] for note in listed(client, ada)) == sorted(SAMPLE_NOTES)


@pytest.mark.parametrize("bad", ['"a\\u0000b"', '"a\\ud800b"'], ids=["NUL", "lone surrogate"])
def test_a_note_with_text_postgresql_cannot_store_is_refused_with_422(
    client: TestClient, users: tuple[User, User], bad: str
) -> None:
    ada, _ = users

    response = client.post(
        "/notes",
        content=f'{{"title": "t", "body": {bad}}}'.encode(),
        headers={"cookie": ada.cookie, "content-type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert listed(client, ada) == []
