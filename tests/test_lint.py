"""CI's lint and type checks: ``ruff check`` on the code and tests, ``mypy d2asim`` with the
pydantic plugin (settings in pyproject.toml; cache in the tree's .mypy_cache, gitignored).

Both are in the ``test`` extra, so the README's test command installs them; each test skips
(saying why) only where the tool is not installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINTED = [p for p in ("d2asim", "tests", "benchmarks", "scripts") if (ROOT / p).is_dir()]


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]' installs it)")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)


def test_ruff_clean() -> None:
    done = _run("ruff", "check", *LINTED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_clean() -> None:
    done = _run("mypy", "d2asim")
    assert done.returncode == 0, done.stdout + done.stderr
