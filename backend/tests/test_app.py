"""The app as a whole, whatever features it has: its health check and its OpenAPI description."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import app


@pytest.fixture
def client(serve: Callable[[FastAPI], TestClient]) -> TestClient:
    return serve(app)


def test_the_health_check_answers_without_a_session(client: TestClient) -> None:
    response = client.get("/health")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_the_openapi_description_is_served(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert "/health" in response.json()["paths"]
