"""Property-based fuzzing of scenario files (Hypothesis, derandomized).

Each example takes a bundled ``scenarios/*.yaml`` file and mutates it: deleted,
renamed and retyped keys; NaN, inf, huge, negative and empty values; bad dates;
broken ``extends``; YAML syntax errors, bombs and deep nesting. ``d2asim validate``
(in-process, click's CliRunner) must then either

* exit 0, and a short replication of the scenario (at most 3 warm-up and 7
  reported days) must give finite metrics within their range (>= 0, percentages
  <= their ceiling), or
* exit 2 with one ``error: FILE: ...`` line per problem, each naming a scenario
  file (or the final ``... and N more problems`` line), and nothing on stdout,

never a traceback, never more than ``CASE_SECONDS`` per case, never a process
over ``MAX_RSS_MB``. ``D2ASIM_FUZZ_EXAMPLES`` sets the number of examples (default
``CI_EXAMPLES``; several thousand were run once locally, see the README).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from d2asim.cli import main
from d2asim.metrics.replication import metric_ceiling
from d2asim.runner import run_replications
from d2asim.scenario.loader import load_scenario, with_overrides

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BUNDLED = sorted(p.name for p in SCENARIOS.glob("*.yaml"))
CI_EXAMPLES = 600
EXAMPLES = int(os.environ.get("D2ASIM_FUZZ_EXAMPLES", CI_EXAMPLES))
CASE_SECONDS = 60.0
MAX_RSS_MB = 2_000
TARGET = "case.yaml"

NAN, INF = float("nan"), float("inf")
ODD_VALUES: list[Any] = [
    NAN, INF, -INF, 1e308, 10**12, 10**20, -1, -1e9, 0, 0.0, 1e-300, "", [], {}, None, True, "x", "1e309",
    ".nan", dt.date(9999, 12, 31), dt.date(1, 1, 1), "2025-13-01", [NAN], [INF, 1], {"a": NAN},
    {"type": "fixed", "value": INF}, {"type": "weibull", "shape": 0.001, "scale": 1},
    {"type": "lognormal", "mu": 1000, "sigma": 1}, {"type": "empirical", "values": [NAN, 1]},
    {"type": "exponential", "mean": 1e308}, {"type": "gamma", "mean": 5, "sd": 1e-300},
]
VALUES = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.sampled_from([1, 2, 0.5, 10, 100, "p1", "P1", "on_ward", "d2a"]),  # plausible: often still valid
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(max_size=8),
)
EXTENDS = st.sampled_from(["missing.yaml", "../../x.yaml", TARGET, 42, ["baseline.yaml"], "", "baseline.yaml",
                           "d2a.yaml", "README.md"])
GARBAGE = ["\t", ": :", "- [", "{", "'", "&a *b", "!!python/object/apply:os.system ['true']", "? [a]\n: b\n",
           "*undefined", "\x00", "%YAML 9.9\n", "key: [1, 2", "]]]"]


def _bomb(levels: int) -> str:
    names = [f"l{i}" for i in range(levels + 1)]
    rows = [f"{names[0]}: &{names[0]} [{', '.join(['x'] * 9)}]"]
    rows += [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip(names, names[1:], strict=False)]
    return "\n".join(rows) + "\n"


TEXT_EDITS = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.sampled_from(GARBAGE)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just("")),
    st.tuples(st.just("bomb"), st.sampled_from([9, 6, 5, 3]), st.just("")),
    st.tuples(st.just("nest"), st.sampled_from([900, 600, 40, 10]), st.just("")),
    st.tuples(st.just("replace"), st.just(0), st.sampled_from(["", "[]", "42", "\xff\xfe", "name: only"])),
)
DATA_EDITS = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.none()),
    st.tuples(st.just("rename"), st.integers(0, 10**6), st.none()),
    st.tuples(st.just("set"), st.integers(0, 10**6), VALUES),
    st.tuples(st.just("extends"), st.just(0), EXTENDS),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _apply(data: dict[str, Any], edit: tuple[str, int, Any]) -> None:
    kind, where, value = edit
    if kind == "extends":
        data["extends"] = value
        return
    paths = _paths(data)
    *parents, last = paths[where % len(paths)]
    node: Any = data
    for part in parents:
        node = node[part]
    if kind == "delete":
        del node[last]
    elif kind == "rename" and isinstance(node, dict):
        node[f"{last}x"] = node.pop(last)
    else:
        node[last] = copy.deepcopy(value)


def _edit_text(text: str, edit: tuple[str, int, str]) -> str:
    kind, where, value = edit
    if kind == "insert":
        i = where % (len(text) + 1)
        return text[:i] + value + text[i:]
    if kind == "truncate":
        return text[: where % (len(text) + 1)]
    if kind == "bomb":
        return _bomb(where) + text
    if kind == "nest":
        return text + "deep: " + "[" * where + "]" * where + "\n"
    return value


def _check_refusal(stdout: str, stderr: str, folder: Path) -> None:
    assert stdout == "", stdout
    lines = stderr.splitlines()
    assert lines, "exit 2 without a message"
    files = {p.name for p in folder.iterdir()}
    for line in lines:
        assert line.startswith("error: "), line
        if re.fullmatch(r"error: \.\.\. and [\d,]+ more problems", line):
            continue
        named = line.removeprefix("error: ").split(": ", 1)[0]
        assert Path(named).name in files or any(f in line.split(": ", 1)[1][:300] for f in files), line


def _check_run(folder: Path) -> None:
    scenario = load_scenario(folder / TARGET)
    short = with_overrides(scenario, {"run.warmup_days": min(scenario.run.warmup_days, 3),
                                      "run.duration_days": min(scenario.run.duration_days, 7)})
    result = run_replications(short, 1, seed=1)
    for metric, value in result.replications[0].metrics.items():
        assert math.isfinite(value), (metric, value)
        assert 0.0 <= value <= metric_ceiling(metric, short) + 1e-9, (metric, value)
    summary = result.summary()
    assert summary[["mean", "ci_low", "ci_high"]].notna().all().all()


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@example(base="baseline.yaml", data_edits=[], text_edit=("nest", 900, ""))  # was a RecursionError
@example(base="baseline.yaml", data_edits=[], text_edit=("bomb", 9, ""))  # was 60 s and 1.5 GB
@example(base="d2a.yaml", data_edits=[("extends", 0, TARGET)], text_edit=None)  # extends itself
@example(base="baseline.yaml", data_edits=[], text_edit=None)  # unchanged: validates and runs
@given(base=st.sampled_from(BUNDLED), data_edits=st.lists(DATA_EDITS, max_size=3),
       text_edit=st.one_of(st.none(), TEXT_EDITS))
def test_mutated_scenario_is_refused_in_one_line_per_problem_or_runs(base, data_edits, text_edit):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in BUNDLED:
            shutil.copy(SCENARIOS / name, folder / name)
        data = yaml.safe_load((SCENARIOS / base).read_text())
        for edit in data_edits:
            _apply(data, edit)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        if text_edit is not None:
            event(f"text edit: {text_edit[0]}")
            text = _edit_text(text, text_edit)
        (folder / TARGET).write_text(text, encoding="utf-8")
        started = time.perf_counter()
        result = CliRunner().invoke(main, ["validate", str(folder / TARGET)])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 2), (result.exit_code, result.output)
        if result.exit_code == 2:
            event("refused")
            _check_refusal(result.stdout, result.stderr, folder)
        else:
            event("validated and ran")
            _check_run(folder)
        assert time.perf_counter() - started < CASE_SECONDS
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 < MAX_RSS_MB
