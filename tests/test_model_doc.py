"""docs/model.md stays true where it can be checked mechanically: every random stream
it names is one the engine opens (single-site and system form), the modules it cites
exist, and the README links it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from d2asim.model.engine import DischargeModel
from d2asim.model.streams import Streams
from d2asim.scenario.loader import validate_mapping

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "model.md"
PLACEHOLDERS = {"BOROUGH": r"[A-Za-z][\w-]*", "TRUST": r"[A-Za-z][\w-]*", "SERVICE": r"[A-Za-z][\w-]*",
                "BAND": r"[^.]+", "PATHWAY": "P[0-3]"}  # fmt: skip


def _stream_rows() -> list[tuple[str, str]]:
    """(single-site cell, system-form cell) of the stream table."""
    text = DOC.read_text()
    table = text.split("| stream | single-site name | system-form name |", 1)[1].split("\n\n", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    return [(r[1], r[2]) for r in rows]


def _patterns(cell: str) -> list[re.Pattern[str]]:
    """Full stream names in a cell (backticked, not starting with '.'), as regexes."""
    out = []
    for name in re.findall(r"`([^`]+)`", cell):
        if name.startswith(".") or "…" in name:
            continue
        parts = [PLACEHOLDERS.get(p, re.escape(p)) if p != "*" else r".+" for p in name.split(".")]
        out.append(re.compile(r"\.".join(parts) + "$"))
    return out


def _opened(data: dict) -> list[str]:  # type: ignore[type-arg]
    names: list[str] = []
    original = Streams.rng

    def record(self: Streams, name: str):  # noqa: ANN202
        names.append(name)
        return original(self, name)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Streams, "rng", record)
        DischargeModel(validate_mapping(data, "doc"), 1, 0).run()
    return names


def _short(path: Path) -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load(path.read_text())
    data["run"] = {"warmup_days": 0, "duration_days": 40}
    return data


@pytest.mark.parametrize("column", [0, 1])
def test_documented_streams_are_opened_by_the_engine(column: int) -> None:
    if column == 0:
        data = _short(ROOT / "scenarios" / "baseline.yaml")
        data["initial_state"] = {"acute_occupied": 5, "services_occupied": {"p1": 3}}
    else:
        data = _short(ROOT / "tests" / "data" / "system_3x4.yaml")
        data["services"]["rehab_central"]["capacity"] = 1  # a queue: later stays and readmissions happen
        data["initial_state"] = {"services_occupied": {"rehab_central": 1}}
    opened = _opened(data)
    rows = _stream_rows()
    assert len(rows) >= 8
    cells = [row[column] if row[column] != "the same" else row[0] for row in rows]
    for cell in cells:
        for pattern in _patterns(cell):
            assert any(pattern.match(n) for n in opened), (pattern.pattern, sorted(set(opened))[:40])


def test_cited_modules_exist_and_readme_links_the_doc() -> None:
    text = DOC.read_text()
    for module in set(re.findall(r"`((?:d2asim/)?(?:model|metrics|scenario|system|calibration|report)/[\w/]+\.py)`",
                                 text)):  # fmt: skip
        path = ROOT / (module if module.startswith("d2asim/") else f"d2asim/{module}")
        assert path.is_file(), module
    assert "(docs/model.md)" in (ROOT / "README.md").read_text()
    assert (ROOT / "docs" / "images" / "baseline_diagram.png").is_file()
