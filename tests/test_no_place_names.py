"""Grep-clean: no behaviour in d2asim keys on the name of a service, borough or trust.

Every string in the code (docstrings aside) is searched for the names the bundled and legacy
scenarios use, as a whole word in lower case (a key or a dotted path, not prose). The model
finds services by their declared kind and the pathways they serve (the system registry),
never by name.

Allowed to know the names, and why:
- ``scenario/legacy.py`` and ``scenario/migrate.py``: they migrate the single-site form, whose
  services are named ``p1``, ``p2``, ``p3``, ``home_care`` and ``care_home``; that is their job.
- ``calibration/init_scenario.py``: it writes a trust's first scenario from the national
  extracts, so it names the services it creates (``PATHWAY_SERVICES``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "d2asim"
ALLOWED = {"scenario/legacy.py", "scenario/migrate.py", "calibration/init_scenario.py"}
SERVICES = ("p1", "p2", "p3", "home_care", "care_home", "care_homes", "intermediate_care_beds",
            "care_home_assessment_beds")
PLACES = ("whittington", "north_middlesex", "islington", "haringey", "enfield", "barnet", "camden", "uclh",
          "royal_free")
NAMES = re.compile(r"(?<![A-Za-z0-9_])(?:" + "|".join(SERVICES + PLACES) + r")(?![A-Za-z0-9_])")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants of the module, classes and functions."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def name_literals(source: str) -> list[tuple[int, str]]:
    """(line, string) of every non-docstring string constant naming a service or place."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                  and NAMES.search(node.value))


def test_no_service_or_place_name_in_the_code() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative not in ALLOWED:
            found += [f"d2asim/{relative}:{line}: {text!r}" for line, text in name_literals(path.read_text())]
    assert not found, "names of services or places in the code:\n" + "\n".join(found)


def test_the_search_finds_names() -> None:
    """A key, a dotted path and an f-string part are found; prose, kinds, pathways and words
    holding a name (``waiting_p1``: waiting on pathway P1) are not."""
    source = '''"""Docstring naming p1 and islington."""
a = {"p1": 1}
b = "services.home_care.capacity"
c = f"{x}.haringey"
d = ("reablement", "P1", "permanent_care_home", "Islington-like borough", "waiting_p1")
'''
    assert [line for line, _ in name_literals(source)] == [2, 3, 4]
