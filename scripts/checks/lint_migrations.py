"""``make lint``'s migration part: squawk over the SQL both systems would run.

Drizzle's SQL files as they are, but for those .squawk.toml excludes. Alembic's
revisions as ``alembic upgrade head --sql`` renders them, split into one file per
revision and named after it, so that a finding names the revision it is in.

Both tools apply each migration in a transaction of its own (``assume_in_transaction`` in
.squawk.toml), except where a statement cannot run in one: a Drizzle file holding such a
statement (NO_TRANSACTION, as scripts/drizzle_migrate.mjs recognises it) is applied without a
transaction, and squawked so; a revision is squawked with the transactions Alembic writes for
it, so that what its ``autocommit_block()`` runs is seen outside them. The version table
Alembic creates first (its own bookkeeping) is left out. A finding that is right for its table
is acknowledged where it is (docs/your-app.md): ``-- squawk-ignore RULE`` above a statement in a
Drizzle file, ``# squawk-ignore-file RULE`` in a revision.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from scripts.core import systems
from scripts.core.config import REPO_ROOT
from scripts.core.errors import StepFailed
from scripts.history.alembic import AlembicRevision

# Offline mode renders SQL without connecting; it still wants a URL to know the dialect.
OFFLINE_URL = "postgresql://offline@localhost/offline"
SQUAWK_CONFIG = REPO_ROOT / ".squawk.toml"
# Alembic's offline mode writes this comment before each revision's SQL.
# A merge revision has several: "-- Running upgrade a1, b1 -> m1".
RUNNING_UPGRADE = re.compile(r"^-- Running upgrade (?:\S+(?:, \S+)*)? ?-> (\S+)$", re.MULTILINE)
TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT);$", re.MULTILINE)
# The BEGIN Alembic writes at the end of a revision's SQL belongs to the next revision.
NEXT_REVISIONS_BEGIN = re.compile(r"\s*^BEGIN;\s*\Z", re.MULTILINE)
# Statements PostgreSQL refuses in a transaction block: the list scripts/drizzle_migrate.mjs applies
# a Drizzle migration without a transaction for (keep the two the same).
NO_TRANSACTION = re.compile(
    r"^\s*(create\s+(unique\s+)?index\s+concurrently|drop\s+index\s+concurrently|reindex\b[^;]*\bconcurrently"
    r"|alter\s+table\b[^;]*\bdetach\s+partition\b[^;]*\bconcurrently|vacuum\b|alter\s+system\b"
    r"|(create|drop)\s+(database|tablespace)\b)",
    re.IGNORECASE,
)
COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)
# squawk's rules for a column a running release may still read (docs/migrations.md has the recipe).
COLUMN_IN_USE_RULES = ("ban-drop-column", "renaming-column")
EXPAND_CONTRACT = "docs/migrations.md#renaming-or-dropping-a-column-in-use-expand-migrate-contract"
ACKNOWLEDGED = re.compile(r"^\s*# (squawk-ignore-file\b.*)$", re.MULTILINE)


def alembic_sql(revisions: str = "heads") -> str:
    """``alembic upgrade REVISIONS --sql``: offline, it renders the SQL without connecting."""
    result = subprocess.run(
        ["alembic", "upgrade", revisions, "--sql"],
        cwd=systems.load().backend.path,
        env={"PATH": str(Path(sys.executable).parent), "DATABASE_URL": OFFLINE_URL, "ENV_FILE": "/dev/null"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StepFailed(
            f"alembic upgrade {revisions} --sql failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}",
            "a revision that reads the database cannot be rendered as SQL: run that part only online, "
            "under `if not context.is_offline_mode():` (from alembic import context)",
        )
    return result.stdout


def rendered_revisions(sql: str, revisions: list[AlembicRevision]) -> dict[str, str]:
    """Each revision's SQL, by the revision file's path relative to the repository root (.sql added)."""
    files = {revision.revision: revision.path for revision in revisions}
    sections = RUNNING_UPGRADE.split(sql)
    rendered = {}
    # sections: [bookkeeping before the first revision, id, its SQL, id, its SQL, ...]
    for revision, body in zip(sections[1::2], sections[2::2], strict=True):
        path = files[revision]
        acknowledged = "".join(f"-- {line}\n" for line in ACKNOWLEDGED.findall(path.read_text()))
        rendered[f"{path.relative_to(REPO_ROOT)}.sql"] = acknowledged + in_its_transactions(body)
    return rendered


def in_its_transactions(body: str) -> str:
    """A revision's SQL in the transaction Alembic opened before it (BEGIN), up to its COMMIT;
    an ``autocommit_block()`` inside shows as COMMIT, its statements, BEGIN, as Alembic writes it."""
    body = NEXT_REVISIONS_BEGIN.sub("", body).strip()
    controls = TRANSACTION_CONTROL.findall(body)
    ending = "" if controls and controls[-1] == "COMMIT" else "\nCOMMIT;"
    return f"BEGIN;\n{body}{ending}\n"


def outside_transaction(path: Path) -> bool:
    """A Drizzle file scripts/drizzle_migrate.mjs applies without a transaction."""
    statements = path.read_text().split("--> statement-breakpoint")
    return any(NO_TRANSACTION.match(COMMENTS.sub(" ", statement)) for statement in statements)


def not_excluded(files: list[str]) -> list[str]:
    """The files .squawk.toml does not exclude (squawk itself reports excluded ones as not found)."""
    excluded = tomllib.loads(SQUAWK_CONFIG.read_text()).get("excluded_paths", [])
    return [name for name in files if not any(fnmatch(name, pattern) for pattern in excluded)]


def squawk(files: list[str], revisions: dict[str, str]) -> int:
    """squawk over Drizzle ``files`` (paths relative to the repository root) and rendered Alembic
    ``revisions``; its exit code (its findings are printed)."""
    # One folder laid out like the repository, so that every finding names its migration's path.
    with tempfile.TemporaryDirectory() as folder:
        for name in files:
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).symlink_to(REPO_ROOT / name)
        for name, sql in revisions.items():
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).write_text(sql)
        print(f"squawk: {len(files)} Drizzle file(s), {len(revisions)} Alembic revision(s)")
        # Each in a transaction of its own (.squawk.toml); the others with the transactions they run in:
        # none for a Drizzle file of statements that refuse one, Alembic's own BEGIN/COMMIT for a revision.
        without = [name for name in files if outside_transaction(REPO_ROOT / name)]
        within = [name for name in files if name not in without]
        codes = []
        output = ""
        for names, assumed in ((within, []), ([*without, *revisions], ["--no-assume-in-transaction"])):
            if names:
                checked = subprocess.run(
                    ["squawk", "--config", str(SQUAWK_CONFIG), *assumed, *names],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                print(checked.stdout, end="", flush=True)
                print(checked.stderr, end="", file=sys.stderr, flush=True)
                codes.append(checked.returncode)
                output += checked.stdout + checked.stderr
    if any(rule in output for rule in COLUMN_IN_USE_RULES):
        print(
            "✗ squawk: a column is dropped or renamed: the release still running during the deploy reads it and "
            f"breaks. Expand, migrate, contract ({EXPAND_CONTRACT}); acknowledge the finding "
            "(squawk-ignore) only in the contract step, once no running release reads the column",
            file=sys.stderr,
        )
    return max(codes, default=0)
