"""What systems.env declares, for tests: read once here, so that no test spells a schema or folder itself."""

from __future__ import annotations

from pathlib import Path

from dotenv import dotenv_values

from scripts.core.systems import load

REPO_ROOT = Path(__file__).resolve().parents[1]


def declared(root: Path = REPO_ROOT) -> dict[str, str]:
    """The checkout's systems.env: where its apps and migrations are, whatever their folders' names."""
    return {name: value or "" for name, value in dotenv_values(root / "systems.env").items()}


# This checkout's two migration systems, checked as the tooling checks them (scripts/core/systems.py).
SYSTEMS: dict[str, str] = declared()
_declared = load(REPO_ROOT / "systems.env")
BACKEND_SCHEMA = _declared.backend.schema
FRONTEND_SCHEMA = _declared.frontend.schema
LEDGER_SCHEMA = _declared.ledger_schema
# "schema.table" of each tool's own bookkeeping, e.g. api.alembic_version.
BACKEND_BOOKKEEPING = _declared.backend.bookkeeping
FRONTEND_BOOKKEEPING = _declared.frontend.bookkeeping
