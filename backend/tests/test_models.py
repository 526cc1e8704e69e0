"""The models and systems.env agree: the tables they declare live in the backend's declared schema."""

from __future__ import annotations

from models import Base
from testing.systems import BACKEND_SCHEMA


def test_the_models_live_in_the_declared_backend_schema() -> None:
    assert Base.metadata.schema == BACKEND_SCHEMA
