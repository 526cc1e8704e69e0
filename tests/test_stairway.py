"""The stairway: every backend revision goes up, down and up again, and ends where a plain upgrade does."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from conftest import REPO_ROOT, Database

REVISIONS = [
    revision.revision
    for revision in reversed(
        list(ScriptDirectory.from_config(Config(str(REPO_ROOT / "backend" / "alembic.ini"))).walk_revisions())
    )
]


def test_every_revision_upgrades_downgrades_and_upgrades_again(database: Database, reference: Database) -> None:
    assert database.make("migrate-frontend").code == 0
    for revision in REVISIONS:
        for step in (["upgrade", revision], ["downgrade", "-1"], ["upgrade", revision]):
            result = database.backend(*step)
            assert result.code == 0, f"alembic {' '.join(step)}:\n{result.output}"

    assert reference.make("migrate").code == 0
    assert database.schema_dump().replace(database.name, "DB") == reference.schema_dump().replace(reference.name, "DB")


def test_the_history_is_linear() -> None:
    heads = ScriptDirectory.from_config(Config(str(REPO_ROOT / "backend" / "alembic.ini"))).get_heads()

    assert len(heads) == 1, f"multiple heads: {heads}"
