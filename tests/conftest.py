"""Shared test set-up: make ``tests/helpers.py`` importable as ``helpers`` whatever
pytest's import mode."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
