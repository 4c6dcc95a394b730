"""A report never overwrites a file it did not write itself.

Every file a report writes is recorded with its SHA-256 in ``report_files.json`` (in
the folder the report was asked for; paths relative to it). Before a file is written,
an existing file must be recorded there with the digest it still has: a file the user
put there (e.g. their own ``report.md``), or one changed since the report wrote it, is
refused with one line naming it, and nothing outside the folder is ever written.
Re-running a report therefore replaces its own earlier outputs, and only those.

Report code writes through :func:`write_text`, :func:`write_csv` or :func:`writing`
inside :func:`report_files` (nested calls share the outermost folder's record).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pandas as pd

from d2asim.scenario.errors import ScenarioError

MANIFEST = "report_files.json"
_RECOVER = "move it away (or run the report on a copy of the folder without it)"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ReportFiles:
    """The record of the files reports wrote into ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest = root / MANIFEST
        self.files: dict[str, str] = {}
        if self.manifest.exists():
            try:
                files = json.loads(self.manifest.read_text(encoding="utf-8"))["files"]
            except (OSError, ValueError, KeyError, TypeError):
                files = None
            if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
                raise ScenarioError([f"{self.manifest}: report: damaged record of the report's files; {_RECOVER}"])
            self.files = dict(files)

    def _key(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise ScenarioError([f"{path}: report: outside the report's folder {self.root}; not written"]) from None

    def check(self, path: Path) -> None:
        """Refuse (ScenarioError) unless ``path`` is absent or an unchanged earlier output."""
        key = self._key(path)
        if not path.exists() and not path.is_symlink():
            return
        if path.is_symlink() or not path.is_file():
            raise ScenarioError([f"{path}: report: exists and is not a file the report wrote; {_RECOVER}"])
        recorded = self.files.get(key)
        if recorded is None:
            raise ScenarioError([f"{path}: report: not written by d2asim report, so it is never replaced; {_RECOVER}"])
        if recorded != _digest(path):
            raise ScenarioError([f"{path}: report: changed since d2asim report wrote it, so it is not replaced; "
                                 f"{_RECOVER}"])

    def record(self, path: Path) -> None:
        self.files[self._key(path)] = _digest(path)
        tmp = self.manifest.with_name(self.manifest.name + ".partial")
        tmp.write_text(json.dumps({"files": dict(sorted(self.files.items()))}, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.manifest)


_active: ContextVar[ReportFiles | None] = ContextVar("d2asim_report_files", default=None)


@contextmanager
def report_files(root: Path) -> Iterator[ReportFiles]:
    """Guard every report write below until the block ends (the outermost root wins)."""
    current = _active.get()
    if current is not None:
        yield current
        return
    files = ReportFiles(Path(root))
    token = _active.set(files)
    try:
        yield files
    finally:
        _active.reset(token)


@contextmanager
def writing(path: Path) -> Iterator[Path]:
    """Check ``path`` before the block writes it and record it after (unguarded outside
    :func:`report_files`)."""
    files = _active.get()
    if files is not None:
        files.check(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    yield path
    if files is not None:
        files.record(path)


def write_text(path: Path, text: str) -> Path:
    with writing(path):
        path.write_text(text, encoding="utf-8")
    return path


def write_csv(frame: pd.DataFrame, path: Path, **options: Any) -> Path:
    with writing(path):
        frame.to_csv(path, **options)
    return path
