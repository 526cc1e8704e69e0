"""``make lint``'s migration part: squawk over the SQL both systems would run.

Drizzle's SQL files as they are, but for those .squawk.toml excludes; Alembic's
revisions as ``alembic upgrade FIRST:head --sql`` renders them, which leaves out the
first revision (it creates new tables and Alembic's own version table, like
Drizzle's first file: see .squawk.toml).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from scripts import systems
from scripts.errors import StepFailed, entry_point
from scripts.migration_state import alembic_revisions
from scripts.settings import REPO_ROOT

# Offline mode renders SQL without connecting; it still wants a URL to know the dialect.
OFFLINE_URL = "postgresql://offline@localhost/offline"
SQUAWK_CONFIG = REPO_ROOT / ".squawk.toml"


def alembic_sql(first_revision: str) -> str:
    result = subprocess.run(
        ["alembic", "upgrade", f"{first_revision}:head", "--sql"],
        cwd=systems.load().backend.path,
        env={"PATH": str(Path(sys.executable).parent), "DATABASE_URL": OFFLINE_URL, "ENV_FILE": "/dev/null"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StepFailed(f"alembic upgrade --sql failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    return result.stdout


def not_excluded(files: list[str]) -> list[str]:
    """The files .squawk.toml does not exclude (squawk itself reports excluded ones as not found)."""
    excluded = tomllib.loads(SQUAWK_CONFIG.read_text()).get("excluded_paths", [])
    return [name for name in files if not any(fnmatch(name, pattern) for pattern in excluded)]


def main() -> int:
    files = not_excluded(
        [str(path.relative_to(REPO_ROOT)) for path in sorted(systems.load().frontend.migrations_path.glob("*.sql"))]
    )
    revisions = alembic_revisions()
    first = next((r.revision for r in revisions if not r.down_revisions), None)
    with tempfile.TemporaryDirectory() as folder:
        if first and len(revisions) > 1:
            rendered = Path(folder) / "alembic-revisions.sql"
            rendered.write_text(alembic_sql(first))
            files.append(str(rendered))
        if not files:
            print("squawk: no migration to check yet (the first ones create new tables: see .squawk.toml)")
            return 0
        print(f"squawk: {len(files)} file(s)")
        return subprocess.run(["squawk", "--config", str(SQUAWK_CONFIG), *files], cwd=REPO_ROOT).returncode


if __name__ == "__main__":
    entry_point(main)
