"""A deploy whose database URL is missing fails: it never migrates a throwaway local database.

docs/deployment.md's CI/CD recipe passes ``DATABASE_URL: ${{ secrets.DATABASE_URL }}``: with the
secret missing, the variable is set but empty. Nothing may then start the project-local database,
back it up, migrate it and exit 0.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import Clone, copy_of_repository
from scripts.database.localcluster import cluster_root

pytestmark = pytest.mark.full


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    """One copy for the module: none of these runs may change it (each test proves it)."""
    clone = copy_of_repository(tmp_path_factory.mktemp("never-green") / "repo")
    yield clone
    clone.tear_down()


def assert_nothing_started_or_backed_up(clone: Clone) -> None:
    assert not list(cluster_root(clone.root).glob("*/data")), "a local database cluster was created"
    assert not list((clone.root / "backups").glob("*.dump")), "a backup was written"


def script_exit_code(clone: Clone, **env: str) -> tuple[int, str]:
    result = clone.run_script("preflight", **env)
    return result.code, result.output


@pytest.mark.parametrize("name", ["DATABASE_URL", "DIRECT_DATABASE_URL"])
def test_an_empty_url_in_the_environment_is_an_error_even_in_production(fresh_clone: Clone, name: str) -> None:
    result = fresh_clone.make("migrate", ENV="production", **{name: ""})
    assert result.code != 0, result.output
    assert f"{name} is set but empty (in the environment)" in result.output
    assert "→" in result.output  # the hint
    assert "project-local database" not in result.output
    assert script_exit_code(fresh_clone, ENV="production", **{name: ""})[0] == 10
    assert_nothing_started_or_backed_up(fresh_clone)


def test_an_empty_url_in_the_env_file_is_an_error(fresh_clone: Clone) -> None:
    env_file = fresh_clone.root / ".env.deploy"
    env_file.write_text("ENV=production\nDATABASE_URL=\n")
    try:
        result = fresh_clone.make("migrate", ENV_FILE=str(env_file))
        code, output = script_exit_code(fresh_clone, ENV_FILE=str(env_file))
    finally:
        env_file.unlink()
    assert result.code != 0, result.output
    assert f"DATABASE_URL is set but empty (in {env_file})" in result.output
    assert code == 10, output
    assert_nothing_started_or_backed_up(fresh_clone)


@pytest.mark.parametrize(("variable", "value"), [("ENV", "production"), ("CI", "true")])
def test_no_url_at_all_in_production_or_ci_is_an_error(fresh_clone: Clone, variable: str, value: str) -> None:
    result = fresh_clone.make("migrate", **{variable: value})
    assert result.code != 0, result.output
    assert "DATABASE_URL is not set" in result.output
    assert "the local database is never used" in result.output
    assert script_exit_code(fresh_clone, **{variable: value})[0] == 10
    for target in ("db-backup", "migrate-status", "migrate-check"):
        assert fresh_clone.make(target, **{variable: value}).code != 0
    assert_nothing_started_or_backed_up(fresh_clone)


def test_a_developer_without_configuration_still_gets_the_local_database(clone: Clone) -> None:
    """The default of a fresh clone stays: no ENV, no CI (or CI=false), no .env: the project-local database."""
    result = clone.run_script("preflight", CI="false")
    assert result.code == 0, result.output
    assert "project-local database" in result.output
    assert list(cluster_root(clone.root).glob("*/data"))
