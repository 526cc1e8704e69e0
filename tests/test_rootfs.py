"""docker/rootfs.sh, which collects the files of the FROM scratch app images (Dockerfile), run on
this machine's own files into a folder: what the image would hold. tests/test_compose.py proves
the images it makes run; these tests prove what it collects, without Docker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testing.systems import REPO_ROOT

ROOTFS = REPO_ROOT / "docker" / "rootfs.sh"
SHELL = Path("/bin/sh")

pytestmark = pytest.mark.skipif(shutil.which("ldd") is None, reason="rootfs.sh runs where ldd does (Linux)")


def collect(dest: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """rootfs.sh DEST PATHS, as a Dockerfile's RUN runs it (root's PATH has ldconfig's sbin)."""
    env = {**os.environ, "PATH": os.environ["PATH"] + ":/usr/sbin:/sbin"}
    return subprocess.run(["sh", str(ROOTFS), str(dest), *map(str, paths)], capture_output=True, text=True, env=env)


def inside(root: Path, path: str, depth: int = 0) -> Path:
    """Where the absolute PATH leads in ROOT, following its symlinks with ROOT as /."""
    assert depth < 40, f"a symlink loop at {path}"
    current = Path("/")
    for part in Path(path).parts[1:]:
        candidate = root / (current / part).relative_to("/")
        if candidate.is_symlink():
            target = os.readlink(candidate)
            followed = inside(root, os.path.normpath(target if target.startswith("/") else current / target), depth + 1)
            current = Path("/") / followed.relative_to(root)
        else:
            current = current / part
    return root / current.relative_to("/")


def libraries(executable: Path) -> list[str]:
    """The paths ldd reports for EXECUTABLE: "name => /path (0x...)" and the loader's "/path (0x...)"."""
    out = subprocess.run(["ldd", str(executable)], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        words = line.split()
        if len(words) > 2 and words[1] == "=>" and words[2].startswith("/"):
            found.append(words[2])
        elif words and words[0].startswith("/"):
            found.append(words[0])
    return found


def test_an_executable_comes_with_every_library_ldd_reports_for_it(tmp_path: Path) -> None:
    result = collect(tmp_path / "root", SHELL)

    assert result.returncode == 0, result.stderr
    assert inside(tmp_path / "root", str(SHELL)).is_file()
    needed = libraries(SHELL)
    assert needed, "ldd reports no library for /bin/sh: this test needs a dynamically linked one"
    assert [lib for lib in needed if not inside(tmp_path / "root", lib).is_file()] == []


def test_a_symlink_in_a_folder_brings_the_chain_it_leads_through(tmp_path: Path) -> None:
    # As a venv's bin/python -> /usr/local/bin/python -> python3 -> python3.11.
    interpreter = tmp_path / "usr" / "bin"
    interpreter.mkdir(parents=True)
    shutil.copy(SHELL.resolve(), interpreter / "python3.11")
    (interpreter / "python3").symlink_to("python3.11")
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(interpreter / "python3")

    result = collect(tmp_path / "root", tmp_path / "venv")

    assert result.returncode == 0, result.stderr
    copied = inside(tmp_path / "root", str(venv / "python"))
    assert copied == tmp_path / "root" / str(interpreter / "python3.11").lstrip("/")
    assert copied.read_bytes() == SHELL.resolve().read_bytes()
    # The interpreter's own libraries come too: it was found through the link.
    assert [lib for lib in libraries(SHELL) if not inside(tmp_path / "root", lib).is_file()] == []


def test_a_library_ldd_cannot_find_fails_with_its_name(tmp_path: Path) -> None:
    # A copy of the shell that asks for libq.so.6 instead of libc.so.6 (same length, so the ELF stays valid).
    program = SHELL.resolve().read_bytes()
    if program.count(b"libc.so.6\0") != 1:
        pytest.skip("/bin/sh names libc.so.6 other than once here")
    broken = tmp_path / "bin" / "broken"
    broken.parent.mkdir()
    broken.write_bytes(program.replace(b"libc.so.6\0", b"libq.so.6\0"))
    broken.chmod(0o755)

    result = collect(tmp_path / "root", broken)

    assert result.returncode == 1
    assert f"rootfs.sh: {broken} needs a library that is not in the build stage:" in result.stderr
    assert "libq.so.6 => not found" in result.stderr
