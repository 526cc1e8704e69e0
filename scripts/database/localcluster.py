"""A project-local PostgreSQL cluster, run from the machine's own server binaries.

Used where no Docker engine runs. The cluster lives in the git-ignored
``.localdb/<port>/`` folder, listens on 127.0.0.1 only, and takes its user,
password, port and database name from DATABASE_URL.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from scripts.core.config import REPO_ROOT, Settings, shown_path
from scripts.core.database_url import DatabaseUrl, for_libpq
from scripts.core.errors import LocalDatabaseError

CHECKOUT_MARKER = "checkout"  # in a cluster's folder: the checkout it belongs to
SERVER_USER = "postgres"  # PostgreSQL refuses to run as root; root runs it as this user.
INSTALL_HINT = (
    "install PostgreSQL's server binaries (Debian/Ubuntu: apt-get install postgresql; "
    "macOS: brew install postgresql) or Docker, or set PG_BIN to their folder"
)


def server_bin_dir(pg_bin: str | None = None) -> Path:
    """Where initdb and pg_ctl are: PG_BIN, then PATH, then Debian's versioned folders."""
    if pg_bin:
        candidates = [Path(pg_bin)]
    else:
        on_path = shutil.which("pg_ctl")
        debian = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
            reverse=True,
        )
        candidates = ([Path(on_path).resolve().parent] if on_path else []) + debian
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise LocalDatabaseError("no PostgreSQL server binaries (initdb, pg_ctl) found", INSTALL_HINT)


@dataclass(frozen=True)
class LocalCluster:
    home: Path
    port: int
    pg_bin: str | None = None

    @classmethod
    def for_url(cls, url: DatabaseUrl, settings: Settings) -> LocalCluster:
        port = url.port or 5432
        return cls(home=cluster_root() / str(port), port=port, pg_bin=settings.get("PG_BIN", "") or None)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "server.log"

    @property
    def shown_home(self) -> str:
        return shown_path(self.home)

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def ensure_running(self, url: DatabaseUrl) -> None:
        """Initialise and start the cluster as needed, and create the URL's database."""
        self.home.parent.mkdir(parents=True, exist_ok=True)
        # Two first runs at once (two terminals) must not both run initdb or pg_ctl start.
        with open(self.home.parent / f"{self.port}.lock", "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            running = self.is_running()
            if not running:
                self._refuse_a_taken_port(url)
            if not self.is_initialised():
                self._init(url)
            if running:
                print(f"✓ local database already running on 127.0.0.1:{self.port}")
            else:
                self._start()
                print(f"✓ local database started on 127.0.0.1:{self.port} ({shown_path(self.home)})")
            self._create_database(url)

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._pg_ctl("stop", "-m", "fast")
        return True

    def _refuse_a_taken_port(self, url: DatabaseUrl) -> None:
        """Another server on the port (often another checkout's local database): named, before initdb."""
        with socket.socket() as probe:
            probe.settimeout(2)
            if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                return
        data_dir = listening_data_dir(self.port) or _data_dir_by_query(url)
        checkout = checkout_of(data_dir) if data_dir else None
        if checkout is not None and checkout != REPO_ROOT:
            raise LocalDatabaseError(
                f"port {self.port} is taken by another checkout's database: {checkout} (its {data_dir})",
                f"stop it there (cd {checkout} && make db-down), or give this checkout a port of its own "
                f"in DATABASE_URL (.env)",
            )
        holder = f"a PostgreSQL server of {data_dir}" if data_dir else (listening_program(self.port) or "a program")
        raise LocalDatabaseError(
            f"port {self.port} is taken by {holder}: the local database cannot start there",
            "stop that server, or give this checkout a port of its own in DATABASE_URL (.env)",
        )

    def _init(self, url: DatabaseUrl) -> None:
        if not url.username or not url.password:
            raise LocalDatabaseError(
                "DATABASE_URL for the local database must name a user and a password",
                "use the form of .env.example: postgresql://USER:PASSWORD@127.0.0.1:PORT/DATABASE",
            )
        self.home.mkdir(parents=True, exist_ok=True)
        # Whose cluster this is, for another checkout that finds the port taken (checkout_of).
        (self.home / CHECKOUT_MARKER).write_text(f"{REPO_ROOT}\n")
        _hand_to_server_user(self.home)
        with tempfile.NamedTemporaryFile("w", dir=self.home, delete=False) as password_file:
            password_file.write(url.password + "\n")
        _hand_to_server_user(Path(password_file.name))
        try:
            self._run(
                "initdb",
                "--pgdata",
                str(self.data_dir),
                "--username",
                url.username,
                "--pwfile",
                password_file.name,
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            )
        finally:
            os.unlink(password_file.name)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# Project-local cluster (scripts/database/localcluster.py)\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                "unix_socket_directories = ''\n"
            )

    def _start(self) -> None:
        result = self._pg_ctl("start", "--wait", "--log", str(self.log_file), check=False)
        if result.returncode != 0:
            last_lines = _tail(self.log_file)
            raise LocalDatabaseError(
                f"the local database did not start on 127.0.0.1:{self.port}: {last_lines}",
                f"see {shown_path(self.log_file)}; if the port is taken, change it in DATABASE_URL",
            )

    def _create_database(self, url: DatabaseUrl) -> None:
        try:
            connection = psycopg2.connect(for_libpq(url.set(database="postgres")), connect_timeout=5)
        except psycopg2.OperationalError:
            raise LocalDatabaseError(
                f"the local database in {shown_path(self.home)} does not accept the user and password of DATABASE_URL",
                "it was created with other credentials: use those, or start afresh: "
                f"make db-down && rm -rf {shown_path(self.home)}",
            ) from None
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
                    print(f"✓ created database {url.database!r}")
        finally:
            connection.close()

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "--pgdata", str(self.data_dir), *args, check=check)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(server_bin_dir(self.pg_bin) / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise LocalDatabaseError(
                f"{tool} failed: {detail[-1] if detail else f'exit {result.returncode}'}",
                f"see {shown_path(self.log_file)}" if self.log_file.exists() else None,
            )
        return result


def checkout_of(data_dir: Path) -> Path | None:
    """The checkout whose local cluster has this data directory: its marker, else ``<checkout>/.localdb/<port>/``."""
    home = data_dir.parent
    try:
        return Path((home / CHECKOUT_MARKER).read_text().strip())
    except OSError:
        return home.parent.parent if home.parent.name == ".localdb" else None


def _listening_pids(port: int) -> list[int]:
    """The processes with a listening TCP socket on the port (Linux: /proc), when they can be read."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    pids = []
    for fd_folder in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in inodes for fd in fd_folder.iterdir()):
                pids.append(int(fd_folder.parent.name))
        except OSError:
            continue  # gone, or not ours to read
    return pids


def listening_data_dir(port: int) -> Path | None:
    """The data directory of the PostgreSQL server listening on the port: its working directory."""
    for pid in _listening_pids(port) if port else []:
        try:
            folder = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        if (folder / "PG_VERSION").is_file() or (folder / "postmaster.pid").exists():
            return folder
    return None


def listening_program(port: int) -> str | None:
    for pid in _listening_pids(port):
        try:
            return f"{Path(f'/proc/{pid}/comm').read_text().strip()} (pid {pid})"
        except OSError:
            continue
    return None


def _data_dir_by_query(url: DatabaseUrl) -> Path | None:
    """The data directory as the server says it, where /proc does not (another user's process, not Linux)."""
    try:
        connection = psycopg2.connect(for_libpq(url.set(database="postgres")), connect_timeout=3)
    except psycopg2.Error:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            return Path(cursor.fetchone()[0])
    except psycopg2.Error:
        return None  # not a superuser, nor in pg_read_all_settings
    finally:
        connection.close()


def cluster_root(repo_root: Path = REPO_ROOT) -> Path:
    """``.localdb/`` in the repository, unless the server user cannot reach it.

    As root, the server runs as ``postgres``, which needs to traverse every
    folder above the data directory; a checkout under a private home folder
    does not allow that, so the cluster then goes to a folder under /tmp.
    """
    if os.geteuid() != 0 or _server_user_can_reach(repo_root):
        return repo_root / ".localdb"
    digest = hashlib.sha256(str(repo_root).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"localdb-{digest}"


def _server_user_can_reach(folder: Path) -> bool:
    probe = ["runuser", "-u", SERVER_USER, "--", "test", "-x", str(folder)]
    return subprocess.run(probe, capture_output=True).returncode == 0


def _hand_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        path.parent.chmod(path.parent.stat().st_mode | 0o711)
        shutil.chown(path, SERVER_USER, SERVER_USER)
        path.chmod(0o700 if path.is_dir() else 0o600)


def _tail(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log written"
    fatal = [line for line in lines if "FATAL" in line]
    return (fatal or lines or ["no log written"])[-1]
