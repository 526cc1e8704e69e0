"""``make db-backup`` / ``db-restore`` / ``rollback-frontend``: pg_dump and pg_restore.

Backups are custom-format dumps in the git-ignored ``backups/`` folder. A dump
needs a pg_dump at least as new as the server, so the newest matching client
on the machine is used, and a clear message says so when there is none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from scripts.core import config
from scripts.core.config import REPO_ROOT, Settings
from scripts.core.errors import BackupFailed, RestoreRefused
from scripts.database.lock import migration_lock
from scripts.database.preflight import Database, connect
from scripts.database.tools import ToolEnvironments

BACKUP_DIR = REPO_ROOT / "backups"
DUMP_MAGIC = b"PGDMP"  # the first bytes of every custom-format dump
EMPTY_DATABASE = """
DO $$
DECLARE schema_name text;
BEGIN
  FOR schema_name IN
    SELECT nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND nspname NOT LIKE 'pg\\_%'
  LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', schema_name);
  END LOOP;
END $$;
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
"""


def backup_wanted(settings: Settings) -> bool:
    """Production migrations take a backup first, unless BACKUP=skip says otherwise."""
    return settings.get("ENV", "development") == "production" and settings.get("BACKUP", "") != "skip"


def take_backup(database: Database) -> Path:
    pg_dump = client_for_server("pg_dump", server_major(database))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = private_file(BACKUP_DIR / f"{database.url.database}-{stamp}.dump")
    result = subprocess.run(
        [pg_dump, "--format=custom", f"--file={path}"],
        env=_env(database),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        path.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump failed: {_last_line(result.stderr)}", "nothing was migrated or changed")
    print(f"✓ backup: {path.relative_to(REPO_ROOT)} ({_size(path.stat().st_size)})")
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty, readable by its owner only (0600, in a 0700 folder), whatever the umask.

    A dump holds every row, password hashes and session tokens included: pg_dump would create it
    0644 under the usual umask, readable by every local user. It writes into the file made here.
    """
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.parent.chmod(0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupFailed(f"{path} exists already", "wait a second and run it again") from None
    path.chmod(0o600)  # the umask may have taken bits away, never added any: this only makes sure
    return path


def restore(database: Database, dump: Path, confirmed: bool) -> None:
    if not dump.is_file():
        raise RestoreRefused(f"{dump} does not exist", f"pick one of: {newest_backups()}")
    with dump.open("rb") as file:
        if file.read(len(DUMP_MAGIC)) != DUMP_MAGIC:
            raise RestoreRefused(
                f"{dump} is not a pg_dump custom-format dump; nothing was restored",
                "give a file made by make db-backup",
            )
    if not confirmed:
        _confirm(f"Replace the tables of {database.display} with the contents of {dump}?")
    major = server_major(database)
    pg_restore, psql = client_for_server("pg_restore", major), client_for_server("psql", major)
    env = _env(database)
    with migration_lock(
        database.libpq_url,
        config.seconds(database.settings, "MIGRATE_LOCK_TIMEOUT", "60"),
        config.seconds(database.settings, "DB_CONNECT_TIMEOUT", "5"),
    ):
        # The dump as SQL, run by psql in ONE transaction after emptying the database: a
        # restore that fails leaves the database as it was, one that succeeds leaves
        # exactly the dump (tables created since the backup are gone too).
        with tempfile.TemporaryFile() as restore_errors:
            dump_sql = subprocess.Popen(
                [pg_restore, "--no-owner", "--file=-", str(dump)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=restore_errors,
            )
            assert dump_sql.stdout is not None
            result = subprocess.run(
                [
                    psql,
                    "--no-psqlrc",
                    "--quiet",
                    "--single-transaction",
                    "--set=ON_ERROR_STOP=1",
                    f"--command={EMPTY_DATABASE}",
                    "--file=-",
                ],
                env=env,
                stdin=dump_sql.stdout,
                capture_output=True,
                text=True,
                check=False,
            )
            # psql may stop early: pg_restore must not wait forever on a full pipe.
            dump_sql.stdout.close()
            dump_sql.wait()
            restore_errors.seek(0)
            errors = result.stderr or restore_errors.read().decode(errors="replace")
    if result.returncode != 0 or dump_sql.returncode != 0:
        raise RestoreRefused(f"the restore failed, nothing was changed: {_last_line(errors)}")
    print(f"✓ restored {dump} into {database.display}")


def server_major(database: Database) -> int:
    connection = connect(database.url)
    try:
        return connection.server_version // 10000
    finally:
        connection.close()


def client_for_server(tool: str, major: int) -> str:
    """The newest ``tool`` on this machine that can handle a server of version ``major``."""
    candidates = [str(path) for path in Path("/usr/lib/postgresql").glob(f"*/bin/{tool}")]
    if on_path := shutil.which(tool):
        candidates.append(on_path)
    versions = {candidate: _client_major(candidate) for candidate in candidates}
    usable = [c for c, v in versions.items() if v is not None and v >= major]
    if usable:
        return max(usable, key=lambda c: versions[c] or 0)
    found = ", ".join(sorted({str(v) for v in versions.values() if v})) or "none"
    raise BackupFailed(
        f"{tool} must be at least as new as the server (PostgreSQL {major}); this machine has: {found}",
        f"install the PostgreSQL {major} client (Debian/Ubuntu: postgresql-client-{major}), or with Docker: "
        f"docker compose exec db {tool} ...",
    )


def _client_major(path: str) -> int | None:
    try:
        output = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    return int(match.group(1)) if match else None


def _env(database: Database) -> dict[str, str]:
    return ToolEnvironments(database.settings, database.url).python


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise RestoreRefused("a restore must be confirmed, and there is no terminal to ask", "add yes=1 to confirm")
    if input(f"{question} Type yes to continue: ").strip().lower() != "yes":
        raise RestoreRefused("not confirmed: nothing was restored")


def newest_backups() -> str:
    dumps = sorted(BACKUP_DIR.glob("*.dump"), reverse=True)[:3]
    return ", ".join(str(d.relative_to(REPO_ROOT)) for d in dumps) or "no backups yet (make db-backup)"


def _size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
