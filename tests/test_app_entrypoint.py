"""docker/app-entrypoint.sh: the app images start only with a secret of the user's own, 32 characters or more."""

from __future__ import annotations

import os
import subprocess

import pytest

from testing.systems import REPO_ROOT

ENTRYPOINT = REPO_ROOT / "docker" / "app-entrypoint.sh"
PLACEHOLDER = "change-me-local-development-only-secret"  # .env.example's


def start(secret: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BETTER_AUTH_SECRET"}
    if secret is not None:
        env["BETTER_AUTH_SECRET"] = secret
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "echo", "server started"], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("secret", [None, "", PLACEHOLDER], ids=["unset", "empty", "placeholder"])
def test_no_secret_or_the_placeholder_is_refused(secret: str | None) -> None:
    result = start(secret)

    assert (result.returncode, result.stdout) == (17, "")
    assert result.stderr.startswith("✗ BETTER_AUTH_SECRET is not set")


@pytest.mark.parametrize("secret", ["x", "s" * 31], ids=["one character", "31 characters"])
def test_a_secret_shorter_than_32_characters_is_refused(secret: str) -> None:
    result = start(secret)

    assert (result.returncode, result.stdout) == (17, "")
    assert len(result.stderr.splitlines()) == 1
    assert "too short" in result.stderr
    assert secret not in result.stderr.replace("BETTER_AUTH_SECRET", "")


def test_a_secret_of_32_characters_starts_the_server() -> None:
    result = start("s" * 32)

    assert (result.returncode, result.stdout) == (0, "server started\n"), result.stderr
