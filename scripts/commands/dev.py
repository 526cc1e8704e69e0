"""``make dev``: both servers with reload, on one database, stopped together on Ctrl-C.

    backend:  uvicorn app.main:app --reload --host 127.0.0.1 --port $BACKEND_PORT   (in its folder)
    frontend: next dev --hostname 127.0.0.1 --port $FRONTEND_PORT                   (in its folder)

(the folders of systems.env: backend/ and nextjs/ as the template comes)

`make dev` has already brought the database up and run `make migrate`.
"""

from __future__ import annotations

import subprocess
import time

from scripts.core import config, systems
from scripts.core.config import REPO_ROOT
from scripts.core.database_url import for_libpq, for_node
from scripts.core.errors import StepFailed
from scripts.database.preflight import run_preflight
from scripts.database.tools import child_environment, database_urls


def servers(backend_port: str, frontend_port: str) -> dict[str, list[str]]:
    """Each server's command, by the folder it runs in."""
    declared = systems.load()
    return {
        declared.backend.folder: ["uvicorn", "app.main:app", "--reload", "--host", "127.0.0.1", "--port", backend_port],
        declared.frontend.folder: ["next", "dev", "--hostname", "127.0.0.1", "--port", frontend_port],
    }


def main() -> int:
    settings = config.settings()
    database = run_preflight(settings, quiet=True)
    backend_port = settings.get("BACKEND_PORT", "8000")
    frontend_port = settings.get("FRONTEND_PORT", "3000")
    # The apps keep DATABASE_URL (through a pooler, maybe); pre-flight checked the migration URL.
    app_url = config.database_url(database.settings, for_apps=True)
    env = child_environment(database.settings, for_libpq(app_url))
    env.setdefault("BACKEND_URL", f"http://127.0.0.1:{backend_port}")
    # Better Auth accepts requests from its own URL only: in development, the port's.
    env["BETTER_AUTH_URL"] = f"http://localhost:{frontend_port}"
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for folder, argv in servers(backend_port, frontend_port).items():
            print(f"→ {folder}: {' '.join(argv)}", flush=True)
            is_frontend = folder == systems.load().frontend.folder
            folder_env = {**env, **database_urls(for_node(app_url))} if is_frontend else env
            running[folder] = subprocess.Popen(argv, cwd=REPO_ROOT / folder, env=folder_env)
        print(
            f"\n  app:  http://localhost:{frontend_port}\n  API:  http://127.0.0.1:{backend_port}/docs\n"
            "  Ctrl-C stops both.\n",
            flush=True,
        )
        while all(process.poll() is None for process in running.values()):
            time.sleep(0.5)
        stopped = next(name for name, process in running.items() if process.poll() is not None)
        raise StepFailed(f"the {stopped} server stopped (exit {running[stopped].returncode}); see its output above")
    finally:
        for process in running.values():
            if process.poll() is None:
                process.terminate()
        for process in running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
