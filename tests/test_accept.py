"""ACCEPT=name: every blocking check's explicit way past, named in its message, warned about,
recorded in the ledger, and in production honoured only when given to the run itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import Clone, add_backend_table, copy_of_repository
from scripts.checks import accept
from scripts.core import errors
from scripts.core.config import Settings
from testing.database import Database
from testing.systems import declared

FAST = "✓ up to date:"


def migrate(clone: Clone, database: Database, target: str = "migrate", **env: str):
    return clone.make(target, **{"DATABASE_URL": database.url_string(), "ENV_FILE": "/dev/null", **env})


def accepted_rows(clone: Clone, database: Database) -> list[tuple]:
    table = f"{declared(clone.root)['LEDGER_SCHEMA']}.accepted"
    if database.query(f"SELECT to_regclass('{table}')") == [(None,)]:
        return []
    return database.query(f"SELECT check_name, found, env, database_role FROM {table} ORDER BY id")


@pytest.fixture
def drifted(tmp_path, database: Database) -> Iterator[tuple[Clone, Database]]:
    """A copy whose database differs from its models by a column added by hand: check 31 fails."""
    clone = copy_of_repository(tmp_path / "repo")
    table = add_backend_table(clone, "fixture_item")
    assert migrate(clone, database).code == 0
    database.query(f"ALTER TABLE {table} ADD COLUMN stray text")
    yield clone, database
    clone.tear_down()


# ---- the names (quick) ------------------------------------------------------------------------


def test_every_check_has_a_unique_name() -> None:
    checks = [
        kind
        for kind in vars(errors).values()
        if isinstance(kind, type) and issubclass(kind, errors.Failure) and 30 <= kind.exit_code <= 40
    ]
    names = [accept.name_of(kind("x")) for kind in checks]

    assert None not in names
    assert len(set(accept.NAMES.values())) == len(accept.NAMES)


def test_a_hint_ends_with_the_way_past_by_name() -> None:
    problem = errors.FrontendDrift("the tables differ", "undo that change")

    accept.with_way_past([problem])

    assert problem.hint == "undo that change; or, if you know better: make migrate ACCEPT=frontend-drift"


def test_a_check_whose_tool_could_not_run_is_waived_by_the_checks_name() -> None:
    failed = errors.StepFailed("frontend: drizzle-kit pull failed", "check the role")
    [problem] = accept.named([failed], "frontend-drift")

    assert accept.waived([problem], frozenset({"frontend-drift"})) == ([], [problem])
    assert accept.with_way_past([problem])[0].hint.endswith("make migrate ACCEPT=frontend-drift")


def test_an_unknown_name_lists_the_names() -> None:
    with pytest.raises(errors.UsageError) as raised:
        accept.requested(Settings({"ACCEPT": "frontend-drift,no-such-check"}, None), environ={})

    assert "no-such-check" in raised.value.message
    assert "frontend-drift" in (raised.value.hint or "") and "backend-drift" in (raised.value.hint or "")


def test_in_production_an_accept_only_from_the_env_file_is_refused() -> None:
    settings = Settings({"ACCEPT": "frontend-drift", "ENV": "production"}, None)

    with pytest.raises(errors.AcceptRefused):
        accept.requested(settings, environ={"ENV": "production"})
    assert accept.requested(settings, environ={"ACCEPT": "frontend-drift"}) == {"frontend-drift"}


# ---- on a copy, with make migrate --------------------------------------------------------------


@pytest.mark.full
def test_a_failing_check_names_its_way_past_and_blocks(drifted: tuple[Clone, Database]) -> None:
    clone, database = drifted

    result = migrate(clone, database)

    assert "Error 31" in result.output
    assert "or, if you know better: make migrate ACCEPT=backend-drift" in result.output
    assert accepted_rows(clone, database) == []


@pytest.mark.full
def test_accepting_it_by_name_lets_migrate_through_with_a_warning_and_a_ledger_row(
    drifted: tuple[Clone, Database],
) -> None:
    clone, database = drifted

    result = migrate(clone, database, ACCEPT="backend-drift")

    assert result.code == 0, result.output
    assert "! accepted (ACCEPT=backend-drift), not fixed: backend: the models differ" in result.output
    [(check, found, env, role)] = accepted_rows(clone, database)
    assert (check, env, role) == ("backend-drift", "development", database.url.username)
    assert "remove_column fixture_item" in found


@pytest.mark.full
def test_models_ahead_of_the_migrations_just_applied_are_waived_by_name_too(clone: Clone, database: Database) -> None:
    # The backend's drift is found after the upgrade there (nothing at head to compare before it).
    table = add_backend_table(clone, "fixture_item")
    model = clone.root / declared(clone.root)["BACKEND_DIR"] / "models" / "fixture_item.py"
    model.write_text(model.read_text() + "    forgotten: Mapped[str | None] = mapped_column(Text)\n")

    result = migrate(clone, database, ACCEPT="backend-drift")

    assert result.code == 0, result.output
    assert "! accepted (ACCEPT=backend-drift), not fixed: backend: the models differ" in result.output
    assert table in database.tables()
    [(check, found, _, _)] = accepted_rows(clone, database)
    assert check == "backend-drift" and "add_column fixture_item" in found


@pytest.mark.full
def test_a_run_that_accepted_leaves_no_fast_path_record(drifted: tuple[Clone, Database]) -> None:
    clone, database = drifted
    assert migrate(clone, database, ACCEPT="backend-drift").code == 0

    result = migrate(clone, database)

    assert FAST not in result.output
    assert "Error 31" in result.output


@pytest.mark.full
def test_several_names_are_comma_separated(drifted: tuple[Clone, Database]) -> None:
    clone, database = drifted

    result = migrate(clone, database, ACCEPT="frontend-drift, backend-drift")

    assert result.code == 0, result.output
    assert "(ACCEPT=frontend-drift: that check passed; nothing to accept)" in result.output


@pytest.mark.full
def test_an_unknown_name_is_a_usage_error(drifted: tuple[Clone, Database]) -> None:
    clone, database = drifted

    result = migrate(clone, database, ACCEPT="backend-drfit")

    assert "Error 2" in result.output
    assert "no check is called backend-drfit" in result.output and "backend-drift" in result.output


@pytest.mark.full
def test_migrate_check_accepts_too_and_records_nothing(drifted: tuple[Clone, Database]) -> None:
    clone, database = drifted

    result = migrate(clone, database, "migrate-check", ACCEPT="backend-drift")

    assert result.code == 0, result.output
    assert "! accepted (ACCEPT=backend-drift)" in result.output
    assert accepted_rows(clone, database) == []


@pytest.mark.full
def test_in_production_an_accept_in_the_env_file_is_refused(drifted: tuple[Clone, Database]) -> None:
    clone, database = drifted
    env_file = clone.root / ".env.production"
    env_file.write_text(f"DATABASE_URL={database.url_string()}\nENV=production\nBACKUP=skip\nACCEPT=backend-drift\n")
    from_file = {"ENV_FILE": str(env_file)}

    refused = clone.make("migrate", **from_file)
    given = clone.make("migrate", **from_file, ACCEPT="backend-drift")

    assert "Error 60" in refused.output
    assert "make migrate ACCEPT=backend-drift" in refused.output
    assert given.code == 0, given.output
    assert [row[2] for row in accepted_rows(clone, database)] == ["production"]


@pytest.mark.full
def test_a_check_tool_that_cannot_run_is_passed_by_its_name(clone: Clone, migrated: Database) -> None:
    auth_config = clone.root / declared(clone.root)["FRONTEND_DIR"] / "lib" / "auth.ts"
    auth_config.write_text(auth_config.read_text() + "\nthis is not TypeScript (\n")

    refused = migrate(clone, migrated, "migrate-check")
    passed = migrate(clone, migrated, "migrate-check", ACCEPT="auth-schema-behind")

    assert "Error 20" in refused.output and "the Better Auth CLI could not generate" in refused.output
    assert "make migrate ACCEPT=auth-schema-behind" in refused.output
    assert passed.code == 0, passed.output
    assert "! accepted (ACCEPT=auth-schema-behind)" in passed.output
