"""docs/your-app.md's steps, as a user follows them, pass `make lint`'s ruff."""

from __future__ import annotations

import re
import subprocess

import pytest

from testing.systems import REPO_ROOT, SYSTEMS

MODELS_INIT = f"{SYSTEMS['BACKEND_DIR']}/models/__init__.py"


def documented_import_line() -> str:
    """The model import docs/your-app.md says to add to models/__init__.py."""
    docs = (REPO_ROOT / "docs" / "your-app.md").read_text()
    found = re.search(r"one line in `backend/models/__init__\.py`.*?`(from models\.\w+ import \w+)`", docs, re.DOTALL)
    assert found, "docs/your-app.md no longer shows the import line for a new model"
    return found.group(1)


def ruff(text: str) -> subprocess.CompletedProcess[str]:
    """ruff check on ``text`` as the project's models/__init__.py, with the project's configuration."""
    return subprocess.run(
        ["uv", "run", "--frozen", "ruff", "check", "--stdin-filename", MODELS_INIT, "-"],
        input=text,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("where", ["first import", "last line"])
@pytest.mark.parametrize("model", ["documented", "aaa_first", "zzz_last"])
def test_the_documented_model_import_passes_ruff_wherever_it_is_added(where: str, model: str) -> None:
    documented = documented_import_line()
    # A models/__init__.py without the line (the user's may have it already), then the line added.
    text = (REPO_ROOT / MODELS_INIT).read_text().replace(documented + "\n", "")
    line = documented if model == "documented" else f"from models.{model} import Fixture{model.title()}"
    if where == "last line":
        text += line + "\n"
    else:
        first_import = re.search(r"^from ", text, re.MULTILINE)
        text = text[: first_import.start()] + line + "\n" + text[first_import.start() :]

    result = ruff(text)

    assert result.returncode == 0, result.stdout + result.stderr
