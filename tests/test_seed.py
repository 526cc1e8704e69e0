"""`make seed`: the apps' seeds fill a development database once; a second run changes nothing.

The tests name none of the app's tables: they compare every row of the database before and
after, and hold whatever the seeds add (docs/your-app.md, "Seeding").
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from dotenv import dotenv_values

from conftest import Clone
from scripts.database.tools import NODE_BIN
from testing.auth import BETTER_AUTH_SECRET
from testing.database import Database
from testing.systems import REPO_ROOT, SYSTEMS

SEED_USER = {
    "SEED_USER_EMAIL": "seeded@example.com",
    "SEED_USER_PASSWORD": "seeded-only-in-tests",
    "SEED_USER_NAME": "Seeded",
}
SEEDED = re.compile(r"✓ seeded \S+: (.+)$", re.MULTILINE)
NOTHING_CHANGED = "already holds what the seeds add (no row changed)"


def rows(database: Database) -> dict[str, list[str]]:
    """Every row of every table, sorted per table: what the database holds."""
    held = {}
    for table in database.tables():
        schema, name = table.split(".")
        held[table] = sorted(repr(row) for row in database.query(f'SELECT * FROM "{schema}"."{name}"'))
    return held


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, int]:
    """The tables whose rows differ, with how many rows each gained."""
    return {t: len(after[t]) - len(before.get(t, [])) for t in after if after[t] != before.get(t)}


def reported_changes(output: str) -> dict[str, int]:
    """What `make seed` says it changed: {"schema.table": rows gained}."""
    match = SEEDED.search(output)
    assert match, output
    return {table: int(gained) for table, gained in re.findall(r"(\S+) \(([+-]\d+)\)", match.group(1))}


def sign_in(database: Database, email: str, password: str) -> dict:
    """Better Auth's own sign-in (tests/support/sign-in.mts), in-process: its status and whether it set a session."""
    env = {
        **os.environ,
        "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}",
        "BETTER_AUTH_SECRET": BETTER_AUTH_SECRET,
        "BETTER_AUTH_URL": "http://localhost:3000",
        "DATABASE_URL": database.url_string(drivername="postgresql"),
    }
    signed_in = subprocess.run(
        [str(NODE_BIN / "tsx"), str(REPO_ROOT / "tests" / "support" / "sign-in.mts"), email, password],
        cwd=REPO_ROOT / SYSTEMS["FRONTEND_DIR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert signed_in.returncode == 0, signed_in.stdout + signed_in.stderr
    return json.loads(signed_in.stdout.strip().splitlines()[-1])


def users(database: Database, email: str) -> list[tuple]:
    return database.query('SELECT name FROM "user" WHERE email = %s', email)


@pytest.mark.full
def test_seed_creates_the_user_and_reports_every_table_it_changed(migrated: Database) -> None:
    before = rows(migrated)

    result = migrated.make("seed", **SEED_USER)

    assert result.code == 0, result.output
    assert users(migrated, SEED_USER["SEED_USER_EMAIL"]) == [("Seeded",)]
    changed = changed_tables(before, rows(migrated))
    assert reported_changes(result.output) == changed
    assert f"✓ {SYSTEMS['BACKEND_DIR']}: python -m app.seed" in result.output
    assert SEED_USER["SEED_USER_PASSWORD"] not in result.output


@pytest.mark.full
def test_the_password_is_stored_by_better_auth_as_a_hash(migrated: Database) -> None:
    assert migrated.make("seed", **SEED_USER).code == 0

    stored = migrated.query(
        """SELECT a.password FROM account a JOIN "user" u ON u.id = a.user_id
           WHERE u.email = %s AND a.provider_id = 'credential'""",
        SEED_USER["SEED_USER_EMAIL"],
    )

    assert len(stored) == 1 and stored[0][0]
    assert SEED_USER["SEED_USER_PASSWORD"] not in stored[0][0]


@pytest.mark.full
def test_a_second_seed_changes_no_row_and_says_so(migrated: Database) -> None:
    assert migrated.make("seed", **SEED_USER).code == 0
    before = rows(migrated)

    second = migrated.make("seed", **SEED_USER)

    assert second.code == 0, second.output
    assert rows(migrated) == before
    assert NOTHING_CHANGED in second.output
    assert "exists already: unchanged" in second.output


@pytest.mark.full
def test_the_seeded_user_signs_in_with_the_configured_password_only(migrated: Database) -> None:
    assert migrated.make("seed", **SEED_USER).code == 0
    email = SEED_USER["SEED_USER_EMAIL"]

    assert sign_in(migrated, email, SEED_USER["SEED_USER_PASSWORD"]) == {"status": 200, "session": True}
    assert sign_in(migrated, email, "not-the-seed-password")["status"] == 401


@pytest.mark.full
def test_with_nothing_set_the_seed_user_comes_from_env_example(migrated: Database) -> None:
    defaults = dotenv_values(REPO_ROOT / ".env.example")

    result = migrated.make("seed")

    assert result.code == 0, result.output
    assert len(users(migrated, defaults["SEED_USER_EMAIL"])) == 1
    assert f"as {defaults['SEED_USER_EMAIL']}, with SEED_USER_PASSWORD (from .env.example)" in result.output
    assert defaults["SEED_USER_PASSWORD"] not in result.output


@pytest.mark.full
def test_a_sign_up_better_auth_refuses_is_exit_28_with_its_reason(migrated: Database) -> None:
    result = migrated.make("seed", **{**SEED_USER, "SEED_USER_PASSWORD": "x9Q!z"})

    assert "Error 28" in result.output
    assert "Better Auth refused to sign up seeded@example.com: Password too short" in result.output
    assert "x9Q!z" not in result.output
    assert users(migrated, SEED_USER["SEED_USER_EMAIL"]) == []
    assert "Traceback" not in result.output and "    at " not in result.output


def test_seed_refuses_production_and_changes_nothing(database: Database) -> None:
    result = database.make("seed", ENV="production", **SEED_USER)

    assert "Error 27" in result.output
    assert "make seed is for development databases, and ENV=production: nothing was changed" in result.output
    assert database.tables() == set()


def test_seed_on_a_database_with_pending_migrations_says_to_migrate_first(database: Database) -> None:
    result = database.make("seed", **SEED_USER)

    assert "Error 28" in result.output
    assert "run make migrate first" in result.output
    assert database.tables() == set()


@pytest.mark.full
def test_seed_refuses_a_database_the_template_did_not_start(clone: Clone, migrated: Database) -> None:
    # The copy's scripts started no server: the suite's own is, to them, a database configured by hand.
    before = rows(migrated)

    result = clone.make("seed", DATABASE_URL=migrated.url_string(), ENV_FILE="/dev/null", **SEED_USER)

    assert "Error 27" in result.output
    assert "is not a database the template started" in result.output and "make seed yes=1" in result.output
    assert rows(migrated) == before


@pytest.mark.full
def test_seed_with_yes_seeds_a_database_the_template_did_not_start_and_says_so(
    clone: Clone, migrated: Database
) -> None:
    result = clone.make("seed", "yes=1", DATABASE_URL=migrated.url_string(), ENV_FILE="/dev/null", **SEED_USER)

    assert result.code == 0, result.output
    assert "yes=1: " in result.output and "make seed adds the seeds' user and rows to it" in result.output
    assert users(migrated, SEED_USER["SEED_USER_EMAIL"]) == [("Seeded",)]
