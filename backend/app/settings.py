"""The app's settings: the process environment, then the env file (``ENV_FILE``, default
the repository's ``.env``), then the local defaults of ``.env.example``.

The app's own: the tooling (scripts/) reads its configuration itself, so this module is
yours to change, e.g. for pydantic-settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

REPO_ROOT = Path(__file__).resolve().parents[2]
URL_NAMES = ("DATABASE_URL", "DIRECT_DATABASE_URL")


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, str]

    @property
    def database_url(self) -> str | None:
        """The app's URL: possibly through a connection pooler; the direct one when it is the only one."""
        return self.values.get("DATABASE_URL") or self.values.get("DIRECT_DATABASE_URL") or None

    @property
    def empty_url(self) -> str | None:
        """The URL variable that is set but empty, if any."""
        return next((name for name in URL_NAMES if self.values.get(name) == ""), None)

    def get(self, name: str, default: str) -> str:
        return self.values.get(name) or default


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    env_file = Path(environ.get("ENV_FILE") or ".env")
    env_file = env_file if env_file.is_absolute() else REPO_ROOT / env_file
    layers = [REPO_ROOT / ".env.example", env_file]
    values: dict[str, str] = {}
    for layer in layers:
        if layer.is_file():
            values |= {name: value for name, value in dotenv_values(layer).items() if value}
    # A URL set but empty (a missing deploy secret) stays empty: never .env.example's local database.
    return Settings({**values, **{name: value for name, value in environ.items() if value or name in URL_NAMES}})
