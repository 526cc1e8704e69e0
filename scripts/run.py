"""Run the real tools against DATABASE_URL: pre-flight first, then each step in order.

    python -m scripts.run --step nextjs "drizzle-kit migrate" --step backend "alembic upgrade head"
    python -m scripts.run --in backend -- alembic revision --autogenerate -m "add tags"

Each step runs in its folder with DATABASE_URL in the one form both tools read
(postgresql://, see app.database_url) and the libpq variables psql reads. The
tools' output is passed through with passwords masked and stack traces left
out; a failing step ends the run with one line saying which step failed and why.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.database_url import for_libpq
from app.settings import REPO_ROOT, Settings
from scripts import config
from scripts.errors import StepFailed, UsageError, entry_point
from scripts.preflight import run_preflight
from scripts.redact import redact

NODE_BIN = REPO_ROOT / "nextjs" / "node_modules" / ".bin"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ERASE_LINE = "\x1b[2K"  # a spinner redrawing its line: only the last drawing counts
SPINNER_FRAME = re.compile(r"^\[[\u2800-\u28ff]\] [^.]*\.\.\.")  # e.g. "[⣷] applying migrations..."
JS_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ lines? matching)")
# How the wrapped tools state the cause of a failure, most specific first.
CAUSE_PATTERNS = [
    re.compile(r"cause: error: (.+)"),  # node-postgres: the database's own error
    re.compile(r"cause: \w*Error: (.+)"),  # node-postgres: connection and URL errors
    re.compile(r"^FAILED: (.+)"),  # alembic's command errors
    re.compile(r"^sqlalchemy\.exc\.\w+: \([\w.]+\) (.+)"),  # the database's error, via SQLAlchemy
    re.compile(r"^[\w.]*(?:Error|Exception|Exit): (.+)"),
]


def child_environment(settings: Settings, libpq_url: str | None) -> dict[str, str]:
    """The tools see the same configuration as the scripts: the environment over the env file."""
    env = dict(settings.values)
    env["PATH"] = os.pathsep.join([str(NODE_BIN), str(Path(sys.executable).parent), env.get("PATH", "")])
    if libpq_url is not None:
        env["DATABASE_URL"] = libpq_url
    return env


def libpq_variables(url) -> dict[str, str]:
    """PG* variables for psql and pg_dump, so that no password goes on a command line."""
    values = {
        "PGHOST": url.host or url.query.get("host"),
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGSSLMODE": url.query.get("sslmode"),
    }
    return {name: value for name, value in values.items() if isinstance(value, str) and value}


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
        if JS_STACK_FRAME.match(line):
            continue
        yield redact(line)


def failure_cause(lines: list[str]) -> str:
    for pattern in CAUSE_PATTERNS:
        causes = [m.group(1).strip() for line in lines if (m := pattern.search(line))]
        if causes:
            return causes[-1]
    meaningful = [line.strip() for line in lines if line.strip()]
    return meaningful[-1] if meaningful else "it printed nothing"


def run_step(folder: str, argv: list[str], env: dict[str, str]) -> None:
    label = f"{folder}: {shlex.join(argv)}"
    print(f"→ {label}", flush=True)
    started = time.monotonic()
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
        )
    except FileNotFoundError:
        raise StepFailed(f"{label}: {argv[0]} is not installed", "run: make install") from None
    shown: list[str] = []
    assert process.stdout is not None
    for line in readable(process.stdout):
        shown.append(line)
        print(f"  {line}", flush=True)
    code = process.wait()
    if code != 0:
        raise StepFailed(
            f"{label} failed (exit {code}): {failure_cause(shown)}",
            "nothing after this step ran; fix the cause above and run the command again",
        )
    print(f"✓ {label} ({time.monotonic() - started:.1f} s)", flush=True)


def run_interactive(folder: str, argv: list[str], env: dict[str, str]) -> int:
    try:
        return subprocess.call(argv, cwd=REPO_ROOT / folder, env=env)
    except FileNotFoundError:
        raise StepFailed(f"{argv[0]} is not installed") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--step", nargs=2, action="append", default=[], metavar=("FOLDER", "COMMAND"),
        help="run COMMAND in FOLDER (relative to the repository root); repeat for more steps",
    )
    parser.add_argument("--in", dest="folder", help="with a command after --: the folder to run it in")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARG...: one step")
    parser.add_argument(
        "--offline", action="store_true",
        help="the steps do not connect: skip pre-flight, pass DATABASE_URL through if set",
    )
    parser.add_argument(
        "--interactive", action="store_true", help="one step, attached to the terminal (psql)"
    )
    args = parser.parse_args()
    steps = [(folder, shlex.split(command)) for folder, command in args.step]
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command:
        steps.append((args.folder or ".", command))
    if not steps or (args.interactive and len(steps) != 1):
        raise UsageError("give one command (--in FOLDER -- COMMAND) or one or more --step FOLDER COMMAND")

    if args.offline:
        settings = config.settings()
        url = config.database_url(settings) if settings.database_url else None
        env = child_environment(settings, for_libpq(url) if url else None)
    else:
        database = run_preflight()
        env = {**child_environment(database.settings, database.libpq_url), **libpq_variables(database.url)}

    if args.interactive:
        return run_interactive(*steps[0], env)
    for folder, argv in steps:
        run_step(folder, argv, env)
    return 0


if __name__ == "__main__":
    entry_point(main)
