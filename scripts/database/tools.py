"""Running the real tools: their environment, their output made readable, their failure's cause."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scripts.core import systems
from scripts.core.config import REPO_ROOT, Settings
from scripts.core.database_url import DatabaseUrl, for_libpq, for_node
from scripts.core.errors import StepFailed
from scripts.core.redact import redact

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ERASE_LINE = "\x1b[2K"  # a spinner redrawing its line: only the last drawing counts
SPINNER_FRAME = re.compile(r"^\[[\u2800-\u28ff]\] [^.]*\.\.\.")  # e.g. "[⣷] applying migrations..."
JS_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ lines? matching)")
# Alembic announcing its comparison plugins, when env.py compares the models after an upgrade.
ALEMBIC_PLUGIN_SETUP = "[alembic.runtime.plugins] setting up autogenerate plugin"
# env.py's answer to `alembic check`'s question after an upgrade (MIGRATE_REPORT_DRIFT): for the wrapper, not shown.
DRIFT_REPORT = "migrate-drift: "
# How the wrapped tools state the cause of a failure, most specific first.
CAUSE_PATTERNS = [
    re.compile(r"^✗ \S+\.sql: (.+)"),  # scripts/drizzle_migrate.mjs: the failed file, then the database's error
    re.compile(r"cause: error: (.+)"),  # node-postgres: the database's own error
    re.compile(r"cause: \w*Error(?: \[\w+\])?: (.+)"),  # node-postgres: connection, TLS and URL errors
    re.compile(r"^FAILED: (.+)"),  # alembic's command errors
    re.compile(r"^sqlalchemy\.exc\.\w+: \([\w.]+\) (.+)"),  # the database's error, via SQLAlchemy
    re.compile(r"^[\w.]*(?:Error|Exception|Exit): (.+)"),
]


def __getattr__(name: str) -> Path:
    """``NODE_BIN``, the frontend's Node tools, computed when asked for (the tests import it).

    Not a constant: systems.env is read on first use, where a mistake in it is reported
    as one line rather than as a traceback at import.
    """
    if name == "NODE_BIN":
        return systems.load().node_bin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ToolEnvironments:
    """The one place a tool's environment is built, for a database (or none): the configuration, the
    project's tools first on PATH, DATABASE_URL in the form each tool reads, and the libpq variables
    psql and pg_dump read. ``python``: libpq's form (Alembic, psql); ``node``: node-postgres's
    (scripts.core.database_url.for_node: libpq's meaning of sslmode)."""

    def __init__(self, settings: Settings, url: DatabaseUrl | None) -> None:
        self.python = child_environment(settings, for_libpq(url) if url else None)
        if url is not None:
            self.python |= libpq_variables(url)
        self.node = {**self.python, **(database_urls(for_node(url)) if url else {})}
        # Set for a run that holds the migration lock: each tool's session named for its system.
        self.session_names: Callable[[str], str] | None = None

    def set(self, name: str, value: str) -> None:
        self.python[name] = self.node[name] = value

    def for_step(self, folder: str) -> dict[str, str]:
        """The environment of a step in ``folder``: the frontend's tools get node-postgres's form."""
        owner = systems.load().of_folder(folder)
        env = self.node if owner is not None and owner == systems.load().frontend else self.python
        if self.session_names:  # a killed run's sessions are told apart
            env = {**env, "MIGRATION_SESSION": self.session_names(owner.name if owner else "tool")}
        return env


def child_environment(settings: Settings, libpq_url: str | None) -> dict[str, str]:
    """The tools see the same configuration as the scripts: the environment over the env file."""
    env = dict(settings.values)
    env["PATH"] = os.pathsep.join([str(systems.load().node_bin), str(Path(sys.executable).parent), env.get("PATH", "")])
    if libpq_url is not None:
        env |= database_urls(libpq_url)
    return env


def database_urls(url: str) -> dict[str, str]:
    """The URL a child must use, under both names: alembic's env.py and drizzle.config.ts
    read DIRECT_DATABASE_URL first, and would find the env file's if it were left out."""
    return {"DATABASE_URL": url, "DIRECT_DATABASE_URL": url}


# libpq's environment variable for each URL parameter that has one (libpq docs, "Environment Variables").
LIBPQ_ENVIRONMENT = {
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "passfile": "PGPASSFILE",
    "require_auth": "PGREQUIREAUTH",
    "channel_binding": "PGCHANNELBINDING",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "requiressl": "PGREQUIRESSL",
    "sslcompression": "PGSSLCOMPRESSION",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcertmode": "PGSSLCERTMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR",
    "sslsni": "PGSSLSNI",
    "requirepeer": "PGREQUIREPEER",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "gsslib": "PGGSSLIB",
    "gssdelegation": "PGGSSDELEGATION",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "client_encoding": "PGCLIENTENCODING",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
}


def libpq_variables(url: DatabaseUrl) -> dict[str, str]:
    """PG* variables for psql and pg_dump, so that no password goes on a command line.

    Every URL parameter with a variable is passed on: pg_dump must verify the server's
    certificate (sslrootcert, ...) exactly as pre-flight and the tools did.
    """
    in_query = {LIBPQ_ENVIRONMENT[key]: value for key, value in url.query.items() if key in LIBPQ_ENVIRONMENT}
    # As libpq reads a URL: what its query says wins over its own parts.
    in_parts = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    values = {**in_parts, **in_query}
    return {name: value for name, value in values.items() if value}


def readable(lines: Iterable[str]) -> Iterator[str]:
    """The tools' output without colour codes, spinner frames or stack traces."""
    in_python_traceback = False
    for raw in lines:
        line = ANSI_ESCAPE.sub("", raw.rstrip("\n").rsplit(ERASE_LINE, 1)[-1])
        line = SPINNER_FRAME.sub("", line)
        if not line.strip():
            continue
        if line.startswith("Traceback (most recent call last):"):
            in_python_traceback = True
            continue
        if in_python_traceback:
            if line.startswith((" ", "\t")) or not line.strip():
                continue
            in_python_traceback = False
        if line.startswith("During handling of the above exception"):
            continue
        if JS_STACK_FRAME.match(line) or ALEMBIC_PLUGIN_SETUP in line:
            continue
        yield redact(line)


def failure_cause(lines: list[str]) -> str:
    for pattern in CAUSE_PATTERNS:
        causes = [m.group(1).strip() for line in lines if (m := pattern.search(line))]
        if causes:
            return causes[-1]
    meaningful = [line.strip() for line in lines if line.strip()]
    return meaningful[-1] if meaningful else "it printed nothing"


@dataclass(frozen=True)
class ToolRun:
    code: int
    lines: list[str]

    @property
    def cause(self) -> str:
        return failure_cause(self.lines)


def run_tool(folder: str, argv: list[str], env: dict[str, str], *, echo: bool) -> ToolRun:
    """Run a tool in ``folder``; its readable output is printed (``echo``) and returned."""
    try:
        process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT / folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=_die_with_parent,
        )
    except FileNotFoundError:
        raise StepFailed(f"{folder}: {argv[0]} is not installed", "run: make install") from None
    lines: list[str] = []
    assert process.stdout is not None
    try:
        for line in readable(process.stdout):
            lines.append(line)
            if echo and not line.startswith(DRIFT_REPORT):
                print(f"  {line}", flush=True)
        return ToolRun(process.wait(), lines)
    finally:
        # Interrupted: the tool ends before the migration lock is released, never after.
        if process.poll() is None:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    """In the tool's process: if the wrapper is killed, the tool is killed too (Linux).

    Otherwise a tool could go on migrating after PostgreSQL released the wrapper's lock.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the tool outlives a killed wrapper, as any child process would


def run_interactive(folder: str, argv: list[str], env: dict[str, str]) -> int:
    try:
        return subprocess.call(argv, cwd=REPO_ROOT / folder, env=env)
    except FileNotFoundError:
        raise StepFailed(f"{argv[0]} is not installed") from None


def run_in_terminal(folder: str, argv: list[str], env: dict[str, str]) -> ToolRun:
    """Run a tool in a pseudo-terminal of its own, relayed to and from this terminal.

    The tool sees a terminal, so it may ask (drizzle-kit: "created or renamed?") and be
    answered with the keys typed here; what it prints is also kept, so that its exit and its
    last words are judged as ``run_tool``'s are. Only for a standard input that is a terminal.
    """
    import errno
    import fcntl
    import pty
    import select
    import termios
    import tty

    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout.flush()
    pid, master = pty.fork()
    if pid == 0:  # the tool's process, its terminal the pseudo-terminal's other end
        try:
            _die_with_parent()
            os.chdir(REPO_ROOT / folder)
            os.execvpe(argv[0], argv, env)  # noqa: S606 - the tool itself, as Popen runs it in run_tool
        except OSError as error:
            os.write(2, f"{argv[0]}: {error.strerror}\n".encode())
        os._exit(127)
    try:
        size = fcntl.ioctl(stdout if os.isatty(stdout) else stdin, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)
    except OSError:
        pass  # the tool's terminal keeps the default size
    saved = termios.tcgetattr(stdin)
    output = bytearray()
    relayed = False
    try:
        # Raw: each key goes to the tool as typed (arrows, Enter, Ctrl-C); its terminal interprets them.
        tty.setraw(stdin)
        sources = [master, stdin]
        while master in sources:
            for ready in select.select(sources, [], [])[0]:
                try:
                    data = os.read(ready, 4096)
                except OSError as error:  # EIO: the tool ended and its terminal closed
                    if error.errno != errno.EIO:
                        raise
                    data = b""
                if ready == master:
                    if not data:
                        sources.remove(master)
                        continue
                    output += data
                    os.write(stdout, data)
                elif data:
                    os.write(master, data)
                else:
                    sources.remove(stdin)  # end of input: the tool reads no more from us
        relayed = True
    finally:
        termios.tcsetattr(stdin, termios.TCSAFLUSH, saved)
        if not relayed:  # interrupted: the tool ends with us, as run_tool's does
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(master)
    text = output.decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    code = os.waitstatus_to_exitcode(status)
    return ToolRun(code if code >= 0 else 128 - code, list(readable(text.splitlines())))
