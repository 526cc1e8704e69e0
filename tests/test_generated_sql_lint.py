"""Every squawk finding in the SQL Better Auth's plugins generate is explained in docs/your-app.md."""

from __future__ import annotations

import re

import pytest

from conftest import Clone
from testing.systems import REPO_ROOT

# Slow: the Better Auth CLI, drizzle-kit and squawk on a copy of the repository.
pytestmark = pytest.mark.full

ADAPTER_IMPORT = 'import { drizzleAdapter } from "better-auth/adapters/drizzle";\n'
PLUGIN_IMPORT = 'import { admin, organization, twoFactor, username } from "better-auth/plugins";\n'
EMAIL_AND_PASSWORD = "  emailAndPassword: {\n    enabled: true,\n  },\n"
PLUGINS = "  plugins: [username(), twoFactor(), admin(), organization()],\n"
# squawk's finding lines, once its colours and hyperlinks are taken out.
FINDING = re.compile(r"^(?:warning|error)\[([a-z-]+)\]", re.MULTILINE)
TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;;[^\x1b]*\x1b\\")


def explained_rules() -> set[str]:
    """The rules named in the first column of the docs' table of generated-SQL findings."""
    section = (REPO_ROOT / "docs" / "your-app.md").read_text().split("### What each finding in Better Auth", 1)[1]
    table = section.split("\n\n", 2)[2].split("\n\n", 1)[0]
    return {rule for row in table.splitlines()[2:] for rule in re.findall(r"`([a-z-]+)`", row.split("|")[1])}


def test_every_finding_in_the_plugins_generated_migration_is_explained(clone: Clone) -> None:
    auth = clone.root / "nextjs" / "lib" / "auth.ts"
    text = auth.read_text()
    assert ADAPTER_IMPORT in text and EMAIL_AND_PASSWORD in text, "lib/auth.ts no longer looks as the test expects"
    auth.write_text(
        text.replace(ADAPTER_IMPORT, ADAPTER_IMPORT + PLUGIN_IMPORT).replace(
            EMAIL_AND_PASSWORD, EMAIL_AND_PASSWORD + PLUGINS
        )
    )
    for target, argument in (("auth-schema", {}), ("migration-frontend", {"name": "plugins"})):
        result = clone.make(target, **argument)
        assert result.code == 0, result.output

    lint = clone.run_script("lint-migrations")

    found = set(FINDING.findall(TERMINAL_CODES.sub("", lint.output)))
    assert lint.code != 0 and found, lint.output  # the plugins' SQL has findings: else this proves nothing
    assert found <= explained_rules(), f"not explained in docs/your-app.md: {sorted(found - explained_rules())}"
