"""The drift check's comparison of Drizzle snapshots (scripts/history/drizzle_snapshot.py), on the repository's
newest snapshot: what introspection spells differently is no difference, and every real one is named."""

from __future__ import annotations

import copy
import json

from conftest import frontend_migrations
from scripts.history.drizzle_snapshot import differences


def newest_snapshot() -> dict:
    return json.loads(sorted((frontend_migrations() / "meta").glob("*_snapshot.json"))[-1].read_text())


def as_pulled(snapshot: dict) -> dict:
    """The snapshot as drizzle-kit pull writes it: implicit operator classes and key schemas spelled out."""
    pulled = copy.deepcopy(snapshot)
    pulled |= {"id": "00000000-0000-0000-0000-000000000000", "prevId": "", "internal": {"tables": {}}}
    for table in pulled["tables"].values():
        for key in table.get("foreignKeys", {}).values():
            key.setdefault("schemaTo", table.get("schema") or "public")
        for index in table.get("indexes", {}).values():
            for column in index["columns"]:
                column.setdefault("opclass", "text_ops")
    return pulled


def first_table(snapshot: dict) -> tuple[str, dict]:
    key = sorted(snapshot["tables"])[0]
    return key.split(".")[-1], snapshot["tables"][key]


def test_a_snapshot_and_its_introspected_spelling_agree() -> None:
    assert differences(newest_snapshot(), as_pulled(newest_snapshot())) == []


def test_a_column_only_in_the_database_is_named() -> None:
    live = as_pulled(newest_snapshot())
    name, table = first_table(live)
    table["columns"]["stray"] = {"name": "stray", "type": "text", "primaryKey": False, "notNull": False}

    assert differences(newest_snapshot(), live) == [f"column {name}.stray: in the database only"]


def test_a_table_missing_from_the_database_is_named() -> None:
    live = as_pulled(newest_snapshot())
    key = sorted(live["tables"])[0]
    del live["tables"][key]

    assert differences(newest_snapshot(), live) == [f"table {key}: missing from the database"]


def test_a_changed_type_and_nullability_are_named_with_both_values() -> None:
    live = as_pulled(newest_snapshot())
    name, table = first_table(live)
    column = sorted(table["columns"])[0]
    applied = table["columns"][column]
    table["columns"][column] = {**applied, "type": "varchar(7)", "notNull": not applied["notNull"]}

    found = differences(newest_snapshot(), live)

    assert f"column {name}.{column}: type is varchar(7) in the database, {applied['type']} in the migrations" in found
    assert len(found) == 2 and f"column {name}.{column}: notNull" in found[1]


def test_a_check_constraint_as_postgresql_rewrites_it_is_no_difference() -> None:
    applied = newest_snapshot()
    name, table = first_table(applied)
    table["checkConstraints"] = {"positive": {"name": "positive", "value": f'"{name}"."n" >= 0'}}
    live = as_pulled(applied)
    first_table(live)[1]["checkConstraints"]["positive"]["value"] = "n >= (0)::numeric"

    assert differences(applied, live) == []


def test_a_default_differing_only_in_casts_and_quotes_is_no_difference() -> None:
    applied = newest_snapshot()
    _, table = first_table(applied)
    column = sorted(table["columns"])[0]
    table["columns"][column]["default"] = "'{}'::jsonb"
    live = as_pulled(applied)
    first_table(live)[1]["columns"][column]["default"] = "('{}'::jsonb)"

    assert differences(applied, live) == []


def test_an_ignored_bookkeeping_table_is_no_difference() -> None:
    live = as_pulled(newest_snapshot())
    live["tables"]["public.__drizzle_migrations"] = {"name": "__drizzle_migrations", "columns": {}}

    assert differences(newest_snapshot(), live, ignored_tables=frozenset({"public.__drizzle_migrations"})) == []
