"""systems.env declares each migration system once; everything that needs the facts agrees with it."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import Clone
from scripts.database.tools import NODE_BIN
from testing.database import Database
from testing.systems import REPO_ROOT, SYSTEMS


def drizzle_config() -> dict:
    """drizzle.config.ts as drizzle-kit loads it: evaluated by Node, not read as text."""
    result = subprocess.run(
        [NODE_BIN / "tsx", "-e", 'import("./drizzle.config.ts").then((m) => console.log(JSON.stringify(m.default)))'],
        cwd=REPO_ROOT / SYSTEMS["FRONTEND_DIR"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_drizzle_config_filters_the_declared_frontend_schema() -> None:
    config = drizzle_config()

    assert config["schemaFilter"] == [SYSTEMS["FRONTEND_SCHEMA"]]
    assert config["out"] == f"./{SYSTEMS['FRONTEND_MIGRATIONS_DIR']}"
    assert config["migrations"] == {
        "schema": SYSTEMS["FRONTEND_BOOKKEEPING_SCHEMA"],
        "table": SYSTEMS["FRONTEND_BOOKKEEPING_TABLE"],
    }


def test_each_tool_keeps_its_bookkeeping_where_declared(migrated_once: Database) -> None:
    frontend = f"{SYSTEMS['FRONTEND_BOOKKEEPING_SCHEMA']}.{SYSTEMS['FRONTEND_BOOKKEEPING_TABLE']}"
    backend = f"{SYSTEMS['BACKEND_BOOKKEEPING_SCHEMA']}.{SYSTEMS['BACKEND_BOOKKEEPING_TABLE']}"

    assert {frontend, backend} <= migrated_once.tables()


@pytest.mark.full
def test_renaming_the_frontend_folder_is_the_move_and_one_edit(clone: Clone) -> None:
    (clone.root / "nextjs").rename(clone.root / "web")
    declaration = clone.root / "systems.env"
    declaration.write_text(declaration.read_text().replace("FRONTEND_DIR=nextjs", "FRONTEND_DIR=web"))

    for target in ("migrate", "migrate-check", "migrate-status", "lint", "test"):
        result = clone.make(target)
        assert result.code == 0, f"make {target}:\n{result.output[-3000:]}"
    status = clone.run_script("status", "--format", "json")
    assert json.loads(status.output[status.output.index("{") :])["frontend"]["head"], status.output
