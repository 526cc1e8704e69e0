"""What differs between two Drizzle snapshots: the applied migrations' and the live database's.

Both sides are drizzle-kit's own snapshot JSON (``drizzle/meta/NNNN_snapshot.json``):
the one the last applied migration left, and the one ``drizzle-kit pull`` writes
from the live database (the introspection ``push`` uses). They are compared here,
entity by entity, rather than with drizzle-kit's own differ (``drizzle-kit/api``
``generateMigration``): that differ stops to ask, interactively, whether a column
that appeared where another vanished was renamed, and answers in SQL, not in names.

Introspection cannot read back an expression as it was written (PostgreSQL keeps
its own rewrite: ``"project"."budget" >= 0`` comes back as ``budget >= (0)::numeric``),
so check constraints, expression index columns, generated columns and views are
compared by name, and column defaults after removing casts, quotes and parentheses
(array defaults, which drizzle-kit 0.31 reads back wrongly, by presence).
Introspection also spells out what the snapshot leaves implicit: an index column's
default operator class, a foreign key's schema. Those are not differences.
"""

from __future__ import annotations

import re

CAST = re.compile(r"::[\w\s\".\[\]]+?(?=$|[\s),])")
NOISE = re.compile(r"[\s()\"']")


def differences(applied: dict, live: dict, *, ignored_tables: frozenset[str] = frozenset()) -> list[str]:
    """Each difference in one phrase, naming its table and column; empty when the two agree."""
    found: list[str] = []
    applied_tables, live_tables = _keyed(applied, "tables", ignored_tables), _keyed(live, "tables", ignored_tables)
    for key in sorted(live_tables.keys() - applied_tables.keys()):
        found.append(f"table {key}: in the database only")
    for key in sorted(applied_tables.keys() - live_tables.keys()):
        found.append(f"table {key}: missing from the database")
    for key in sorted(applied_tables.keys() & live_tables.keys()):
        found += _table_differences(key, applied_tables[key], live_tables[key])
    top_level = [("enum", "enums", _enum), ("sequence", "sequences", _as_is), ("view", "views", _by_name)]
    top_level.append(("schema", "schemas", _by_name))
    for label, kind, comparable in top_level:
        found += _named_differences(label, _keyed(applied, kind), _keyed(live, kind), comparable)
    return found


def _keyed(snapshot: dict, kind: str, ignored: frozenset[str] = frozenset()) -> dict[str, dict]:
    entries = snapshot.get(kind) or {}
    return {key: value for key, value in entries.items() if key not in ignored}


def _table_differences(table: str, applied: dict, live: dict) -> list[str]:
    name = table.split(".", 1)[-1]
    found: list[str] = []
    applied_columns, live_columns = applied.get("columns", {}), live.get("columns", {})
    for column in sorted(live_columns.keys() - applied_columns.keys()):
        found.append(f"column {name}.{column}: in the database only")
    for column in sorted(applied_columns.keys() - live_columns.keys()):
        found.append(f"column {name}.{column}: missing from the database")
    for column in sorted(applied_columns.keys() & live_columns.keys()):
        for what, was, now in _column_differences(applied_columns[column], live_columns[column]):
            found.append(f"column {name}.{column}: {what} is {now} in the database, {was} in the migrations")
    schema = applied.get("schema") or "public"
    parts = [
        ("index", "indexes", _index),
        ("foreign key", "foreignKeys", lambda fk: _foreign_key(fk, schema)),
        ("primary key", "compositePrimaryKeys", lambda key: tuple(key.get("columns", []))),
        ("unique constraint", "uniqueConstraints", _unique),
        ("check constraint", "checkConstraints", _by_name),
        ("policy", "policies", _policy),
    ]
    for label, kind, comparable in parts:
        found += _named_differences(label, applied.get(kind) or {}, live.get(kind) or {}, comparable, on=name)
    if bool(applied.get("isRLSEnabled")) != bool(live.get("isRLSEnabled")):
        now = "on" if live.get("isRLSEnabled") else "off"
        found.append(f"table {name}: row-level security is {now} in the database")
    return found


def _named_differences(label: str, applied: dict, live: dict, comparable=None, on: str | None = None) -> list[str]:
    where = f" on {on}" if on else ""
    found = [f"{label} {key}{where}: in the database only" for key in sorted(live.keys() - applied.keys())]
    found += [f"{label} {key}{where}: missing from the database" for key in sorted(applied.keys() - live.keys())]
    comparable = comparable or _as_is
    for key in sorted(applied.keys() & live.keys()):
        if comparable(applied[key]) != comparable(live[key]):
            found.append(f"{label} {key}{where}: differs")
    return found


def _column_differences(applied: dict, live: dict) -> list[tuple[str, str, str]]:
    found = []
    for field in ("type", "typeSchema", "primaryKey", "notNull", "identity"):
        was, now = applied.get(field), live.get(field)
        if field == "typeSchema":
            was, now = was or "public", now or "public"
        if field == "identity" and was and now:
            was, now = {**was, "schema": None}, {**now, "schema": None}
        if was != now:
            found.append((field, _as_text(applied.get(field)), _as_text(live.get(field))))
    if bool(applied.get("generated")) != bool(live.get("generated")):
        found.append(("generated", _as_text(bool(applied.get("generated"))), _as_text(bool(live.get("generated")))))
    was, now = applied.get("default"), live.get("default")
    is_array = str(applied.get("type", "")).endswith("]")
    if (was is None) != (now is None) or (not is_array and was is not None and _expression(was) != _expression(now)):
        found.append(("default", _as_text(was), _as_text(now)))
    return found


def _expression(text: object) -> str:
    return NOISE.sub("", CAST.sub("", str(text))).lower()


def _index(index: dict) -> tuple:
    columns = tuple(
        ("expression",) if column.get("isExpression") else (column.get("expression"), column.get("asc", True))
        for column in index.get("columns", [])
    )
    return (columns, bool(index.get("isUnique")), index.get("method", "btree"), bool(index.get("where")))


def _foreign_key(key: dict, schema: str) -> tuple:
    return (
        key.get("tableTo"),
        key.get("schemaTo") or schema,
        tuple(key.get("columnsFrom", [])),
        tuple(key.get("columnsTo", [])),
        (key.get("onDelete") or "no action").lower(),
        (key.get("onUpdate") or "no action").lower(),
    )


def _unique(constraint: dict) -> tuple:
    return (tuple(constraint.get("columns", [])), bool(constraint.get("nullsNotDistinct")))


def _enum(enum: dict) -> tuple:
    return tuple(enum.get("values", []))


def _by_name(value: object) -> None:
    """Compared by name only: what PostgreSQL stores is its own rewrite of the definition."""


def _policy(policy: dict) -> tuple:
    return (policy.get("as"), policy.get("for"), tuple(policy.get("to") or ()))


def _as_is(value: object) -> object:
    return value


def _as_text(value: object) -> str:
    if isinstance(value, dict):
        return value.get("type", "set") if "type" in value else "set"
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
