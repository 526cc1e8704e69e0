"""`make bench-live` in a tiny mode: it measures every change, writes its table, and the
template's recipes really changed the database (the catalog says so, not the harness).

The harness runs on the test server (BENCH_LIVE_SERVER) and keeps its recipe database
(BENCH_LIVE_KEEP=1) for this test to inspect, then the test drops it. Its figures are not
asserted: speed is measured by the benchmark, never by a test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from testing.database import SERVER
from testing.systems import BACKEND_SCHEMA, REPO_ROOT

pytestmark = pytest.mark.full

TINY = {
    "BENCH_LIVE_NOTES": "5000",
    "BENCH_LIVE_USERS": "500",
    "BENCH_LIVE_LOAD_USERS": "4",
    "BENCH_LIVE_RATE": "20",
    "BENCH_LIVE_WARMUP": "1",
    "BENCH_LIVE_BEFORE": "1",
    "BENCH_LIVE_AFTER": "0.5",
    "BENCH_LIVE_HOLD": "1",
    "BENCH_LIVE_TIMEOUT": "10",
    "BENCH_LIVE_KEEP": "1",
    "BENCH_LIVE_LOCK_SETTINGS": "50ms/20/1,1s/5/1",
}
COLUMNS = ["change", "form", "migration", "sent", "failed", "p50 before", "p99 before", "p50 during", "p99 during"]


@pytest.fixture(scope="module")
def tiny_run() -> Iterator[tuple[str, dict]]:
    unset = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTEST_ARGS", "DATABASE_URL", "DIRECT_DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    completed = subprocess.run(
        ["make", "--no-print-directory", "bench-live"],
        cwd=REPO_ROOT,
        env={**env, **TINY, "BENCH_LIVE_SERVER": url("postgres")},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    result_file = re.search(r"^results: (\S+\.json)", output, re.MULTILINE)
    assert result_file, output
    results = json.loads((REPO_ROOT / result_file.group(1)).read_text())
    yield output, results
    if results.get("kept_database"):
        with psycopg.connect(url("postgres"), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{results["kept_database"]}" WITH (FORCE)')


def url(database: str) -> str:
    return SERVER.set(database=database).render_as_string(hide_password=False)


def kept(results: dict) -> psycopg.Connection:
    """The recipe database the harness kept."""
    return psycopg.connect(url(results["kept_database"]))


def test_the_table_has_its_columns_and_a_naive_and_a_recipe_row_per_change(tiny_run) -> None:
    output, results = tiny_run
    header = next(line for line in output.splitlines() if line.startswith("change "))
    for column in COLUMNS:
        assert column in header
    forms: dict[str, set[str]] = {}
    for row in results["rows"]:
        forms.setdefault(row["change"], set()).add(row["form"])
        assert row["sent"] > 0, row
    assert len(forms) >= 5 and all(found == {"naive", "recipe"} for found in forms.values()), forms


def test_the_naive_required_better_auth_field_fails_on_a_populated_table(tiny_run) -> None:
    _, results = tiny_run
    naive = next(r for r in results["rows"] if r["change"].startswith("required Better Auth") and r["form"] == "naive")
    assert naive["outcome"].startswith("FAILED") and "null values" in naive["outcome"], naive


def test_a_naive_form_that_failed_leaves_the_naive_copy_so_the_next_naive_change_meets_only_its_own(tiny_run) -> None:
    _, results = tiny_run
    naive = next(r for r in results["rows"] if r["change"].startswith("index on user") and r["form"] == "naive")
    assert naive["outcome"].startswith("applied"), naive


def test_the_recipe_index_exists_and_is_valid(tiny_run) -> None:
    with kept(tiny_run[1]) as connection:
        found = connection.execute(
            f"SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('{BACKEND_SCHEMA}.ix_api_note_created_at')"
        ).fetchall()
    assert found == [(True,)]


def test_the_recipe_foreign_key_is_validated(tiny_run) -> None:
    with kept(tiny_run[1]) as connection:
        found = connection.execute(
            "SELECT convalidated, confrelid::regclass::text FROM pg_constraint WHERE conname = 'fk_note_editor_id_user'"
        ).fetchall()
    assert found == [(True, '"user"')]


def test_the_recipe_columns_are_not_null_and_their_checks_gone(tiny_run) -> None:
    with kept(tiny_run[1]) as connection:
        columns = connection.execute(
            "SELECT attrelid::regclass::text, attname, attnotnull FROM pg_attribute "
            f"WHERE (attrelid, attname) IN (('{BACKEND_SCHEMA}.note'::regclass, 'slug'), "
            "('public.\"user\"'::regclass, 'locale'))"
            " ORDER BY 1"
        ).fetchall()
        checks = connection.execute(
            "SELECT conname FROM pg_constraint WHERE conname IN ('ck_note_slug_not_null', 'user_locale_not_null')"
        ).fetchall()
    assert columns == [('"user"', "locale", True), (f"{BACKEND_SCHEMA}.note", "slug", True)]
    assert checks == []


def test_the_lock_wait_case_has_a_recipe_row_per_lock_setting_each_applied(tiny_run) -> None:
    _, results = tiny_run
    rows = [r for r in results["rows"] if r["change"].endswith("behind an app lock") and r["form"] == "recipe"]
    assert [r["lock_settings"] for r in rows] == ["50ms/20/1", "1s/5/1"], rows
    assert all(r["outcome"].startswith("applied") for r in rows), rows
    assert [r["lock_timeout_s"] for r in rows] == [0.05, 1.0]


def test_in_the_lock_wait_case_no_request_fails_before_the_migration_though_the_app_transaction_is_open(
    tiny_run,
) -> None:
    _, results = tiny_run
    rows = [r for r in results["rows"] if r["change"].endswith("behind an app lock")]
    assert rows and all(r["failed_before"] == 0 for r in rows), rows
