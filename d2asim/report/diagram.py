"""The diagram of a modelled system: boroughs, trusts and services as boxes, flows as
arrows labelled with people per day.

Columns left to right: boroughs of residence (and out-of-area origins), acute
trusts, then services by how far down a chain they are (a service fed only by other
services sits right of them). Arrows: admissions (borough colour), discharges into a
service (pathway colour and line style), moves between services (grey); line width
grows with the flow. Every number on an arrow is the expected flow from the scenario
(:mod:`d2asim.system.flows`); given a run's ``summary.json`` the boxes add the
simulated means.

Drawn with matplotlib in inches (one data unit = one inch), so the layout is exact
and the SVG keeps its text as text (searchable, and checked by the tests).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path as CurvePath

from d2asim.report import style
from d2asim.report.captions import Caption, entry
from d2asim.report.charts import KIND_WORDS
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.schema import Scenario
from d2asim.system.flows import SystemFlows, expected_flows
from d2asim.system.registry import SystemRegistry, registry_of

STEM = "system_diagram"
NAME_PT, TEXT_PT, LABEL_PT = 9.0, 7.8, 7.4  # font sizes, points
PAD = 0.09  # inside a box, inches
LINE_GAP = 1.28  # line height / font size
PORT = 0.24  # vertical room per arrow end on a box, inches
BOX_GAP = 0.22  # between boxes of a column, inches
CURVE = 0.75  # horizontal room for an arrow's bend, inches
MARGIN = 0.25  # around the drawing, inches
TITLE_IN, LEGEND_IN = 0.62, 0.5  # bands for the title and the legend, inches
WRAP = 44  # characters per line inside a box
SETTING_FACE = {"home": "#dcefff", "bed": "#fde6c4"}  # light sky and orange (Okabe-Ito tints)
PATHWAY_LINE: dict[str, Any] = {"P0": ":", "P1": "-", "P2": "--", "P3": "-."}
ADMISSION_COLOUR = "#333333"
ONWARD_COLOUR, ONWARD_LINE = style.PURPLE, (0, (1.2, 1.2))
SHARED_LW, OWN_LW = 2.4, 0.9  # box border widths, points
_FONT = FontProperties(family="DejaVu Sans")


@dataclass(eq=False)
class Box:
    """A borough, trust or service: its text lines (text, size, bold, colour) and,
    once laid out, its column and lower-left corner / size in inches."""

    key: str
    column: int
    lines: list[tuple[str, float, bool, str]]
    face: str = "white"
    edge: str = style.BLACK
    border: float = OWN_LW
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    ins: list[Arrow] = field(default_factory=list)
    outs: list[Arrow] = field(default_factory=list)

    @property
    def middle(self) -> float:
        return self.y + self.h / 2


@dataclass(eq=False)
class Arrow:
    source: Box
    target: Box
    per_day: float
    label: str
    colour: str
    line: Any = "-"


@functools.lru_cache(maxsize=4096)
def _measure(text: str, size: float, bold: bool) -> tuple[float, float]:
    """Width and height of one line of text, inches."""
    renderer = _renderer()
    font = _FONT.copy()
    font.set_size(size)
    font.set_weight("bold" if bold else "normal")
    w, h, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
    return w / style.DPI, max(h / style.DPI, size / 72.0)


@functools.lru_cache(maxsize=1)
def _renderer() -> RendererAgg:
    return RendererAgg(10, 10, style.DPI)  # at the PNG's resolution: hinting changes widths


def _wrap(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, WRAP, break_on_hyphens=False) or [""]


def _rate(x: float) -> str:
    return f"{x:,.1f}" if x >= 0.05 or x == 0 else f"{x:.2f}"


def _text(lines: list[tuple[str, float, bool, str]], text: str, size: float = TEXT_PT, bold: bool = False,
          colour: str = style.BLACK) -> None:
    lines.extend((part, size, bold, colour) for part in _wrap(text))


def _sim(summary: dict[str, Any] | None, scope: tuple[str, str] | None, key: str, days: float) -> float | None:
    """A simulated per-day mean from summary.json (``scope``: (by_trust|by_borough, name))."""
    if summary is None:
        return None
    metrics = summary.get("metrics", {}) if scope is None else summary.get(scope[0], {}).get(scope[1], {})
    found = entry(metrics, key)
    return None if found is None else float(found["mean"]) / days


def _boroughs(reg: SystemRegistry, flows: SystemFlows, summary: dict[str, Any] | None, days: float) -> list[Box]:
    boxes = []
    for b in reg.boroughs:
        lines: list[tuple[str, float, bool, str]] = []
        admitted = sum(v for (name, _), v in flows.admissions.items() if name == b.name)
        if b.modelled:
            _text(lines, b.name, NAME_PT, True)
            pop = b.population
            parts = [f"18+ {pop.adults_18plus:,}" if pop.adults_18plus else "", f"65+ {pop.aged_65plus:,}"
                     if pop.aged_65plus else ""]  # fmt: skip
            if any(parts):
                _text(lines, "residents " + " · ".join(p for p in parts if p), colour=style.GREY)
        else:
            _text(lines, f"out of area, to {reg.trusts[_trust_of(reg, b.code)].name}", NAME_PT, True)
            _text(lines, "no modelled borough: in no borough's rate", colour=style.GREY)
        _text(lines, f"admitted {_rate(admitted)} a day")
        simulated = _sim(summary, ("by_borough", b.name), "admissions", days) if b.modelled else None
        if simulated is not None:
            _text(lines, f"simulated: admitted {_rate(simulated)} a day", colour=style.BLUE)
        boxes.append(Box(f"borough:{b.name}", 0, lines, face="white", border=1.4 if b.modelled else OWN_LW))
    return boxes


def _trusts(reg: SystemRegistry, flows: SystemFlows, summary: dict[str, Any] | None, days: float) -> list[Box]:
    boxes = []
    for t in reg.trusts:
        lines: list[tuple[str, float, bool, str]] = []
        _text(lines, t.name + (f" · {t.ods_code}" if t.ods_code else ""), NAME_PT, True)
        extra = t.acute.escalation.beds if t.acute.escalation else 0
        _text(lines, f"{t.acute.beds:,} acute beds" + (f" (+{extra} escalation)" if extra else ""))
        admitted = sum(v for (_, name), v in flows.admissions.items() if name == t.name)
        again = sum(v for (_, name), v in flows.readmissions.items() if name == t.name)
        _text(lines, f"admitted {_rate(admitted)} a day" + (f", {_rate(again)} of them readmitted" if again else ""))
        _text(lines, f"a day: home with no service {_rate(flows.home_from_hospital[t.name])} · died in hospital "
                     f"{_rate(flows.died_in_hospital[t.name])}", colour=style.GREY)  # fmt: skip
        simulated = _sim(summary, ("by_trust", t.name), "admissions", days)
        if simulated is not None:
            occupied = _sim(summary, ("by_trust", t.name), "acute_occupancy_pct", 1.0)
            _text(lines, f"simulated: admitted {_rate(simulated)} a day"
                  + (f", {occupied:.0f}% of beds occupied" if occupied is not None else ""), colour=style.BLUE)
        boxes.append(Box(f"trust:{t.name}", 1, lines, face="#eeeeee"))
    return boxes


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _trust_of(reg: SystemRegistry, borough: int) -> int:
    """The trust an out-of-area origin admits to (its only site)."""
    return next(site.trust for site in reg.sites if site.borough == borough)


def _capacity_words(spec: Any) -> str:
    if spec.capacity is None:
        return "unlimited places"
    if spec.capacity_unit == "visits_per_day":
        return f"{spec.capacity:,} visits a day ({spec.places():,.0f} places)"
    return f"{spec.capacity:,} {'places' if spec.setting == 'home' else 'beds'}"


def _services(reg: SystemRegistry, flows: SystemFlows, summary: dict[str, Any] | None, days: float,
              columns: dict[str, int]) -> list[Box]:
    boxes = []
    for s in reg.services:
        spec = s.spec
        lines: list[tuple[str, float, bool, str]] = []
        _text(lines, spec.label or s.name, NAME_PT, True)
        if spec.label:
            _text(lines, s.name, colour=style.GREY)
        where = "at home" if s.at_home else "in a bed"
        _text(lines, f"{KIND_WORDS.get(s.kind, s.kind)}, {where}")
        limits = [_capacity_words(spec)]
        if spec.max_duration_days:
            limits.append(f"at most {spec.max_duration_days:g} days")
        if spec.counts_as_dtoc:
            limits.append("waits count as DTOC")
        _text(lines, " · ".join(limits))
        owners = [reg.boroughs[b].name for b in s.boroughs]
        if not reg.single_site:
            _text(lines, ("shared by " if s.shared else "for ") + ", ".join(owners)
                  + (" (first come first served)" if s.shared else ""), colour=style.GREY)  # fmt: skip
        _text(lines, f"starts {_rate(flows.service_starts(s.name))} a day")
        leaving = [f"{words} {_rate(flows.exits[(s.name, outcome)])}" for outcome, words in
                   (("home", "home"), ("readmission", "readmitted"), ("death", "died"))
                   if (s.name, outcome) in flows.exits]  # fmt: skip
        if leaving:
            _text(lines, "leaving a day: " + " · ".join(leaving), colour=style.GREY)
        starts = _sim(summary, None, f"service_starts.{s.name}", days)
        if starts is not None:
            occupied = _sim(summary, None, f"service_occupancy_mean.{s.name}", 1.0)
            waiting = _sim(summary, None, f"service_waiting_mean.{s.name}", 1.0)
            extra = (f", {occupied:,.1f} occupied" if occupied is not None else "") + (
                f", {waiting:,.1f} waiting" if waiting is not None else "")
            _text(lines, f"simulated: starts {_rate(starts)} a day{extra}", colour=style.BLUE)
        boxes.append(Box(f"service:{s.name}", columns[s.name], lines, face=SETTING_FACE[spec.setting],
                         border=SHARED_LW if s.shared else OWN_LW))
    return boxes


def _service_columns(reg: SystemRegistry) -> dict[str, int]:
    """Column of each service: 2 for a pathway's first service (or one nothing
    feeds), one right of the furthest service that feeds it otherwise (loops cut)."""
    fed_by: dict[str, set[str]] = {s.name: set() for s in reg.services}
    for s in reg.services:
        for outcome in s.spec.outcomes:
            if outcome in fed_by and outcome != s.name:
                fed_by[outcome].add(s.name)
    firsts = {entry.name for b in reg.boroughs for k in range(4) if (entry := reg.pathway_service(b.code, k))}
    depth = {name: 0 for name in fed_by}
    for _ in range(len(fed_by)):  # longest path, at most one round per service
        for name, sources in fed_by.items():
            if name not in firsts and sources:
                depth[name] = min(len(fed_by), max(depth[s] + 1 for s in sources))
    return {name: 2 + d for name, d in depth.items()}


def _arrows(reg: SystemRegistry, flows: SystemFlows, boxes: dict[str, Box]) -> list[Arrow]:
    arrows = []
    for (borough, trust), v in flows.admissions.items():
        arrows.append(Arrow(boxes[f"borough:{borough}"], boxes[f"trust:{trust}"], v, _rate(v), ADMISSION_COLOUR))
    merged: dict[tuple[str, str], dict[str, float]] = {}
    for (trust, service, pathway), v in flows.discharges.items():
        merged.setdefault((trust, service), {})[pathway] = v
    for (trust, service), by_pathway in merged.items():
        v = sum(by_pathway.values())
        names = sorted(by_pathway)
        look = style.PATHWAY_STYLE[names[0]][0] if len(names) == 1 else style.BLACK
        line = PATHWAY_LINE[names[0]] if len(names) == 1 else "-"
        arrows.append(Arrow(boxes[f"trust:{trust}"], boxes[f"service:{service}"], v,
                            f"{'+'.join(names)} {_rate(v)}", look, line))
    for (service, nxt), v in flows.onward.items():
        arrows.append(Arrow(boxes[f"service:{service}"], boxes[f"service:{nxt}"], v, _rate(v), ONWARD_COLOUR,
                            ONWARD_LINE))
    return arrows


def _size(box: Box, width: float) -> None:
    text_h = sum(_measure(t, s, b)[1] * LINE_GAP for t, s, b, _ in box.lines) + 2 * PAD
    box.w = width
    box.h = max(text_h, PORT * max(len(box.ins), len(box.outs), 1) + PAD)


def _barycentre(box: Box, rank: dict[int, float], default: float) -> float:
    """Mean rank of what feeds ``box``, weighted by flow (``default`` if nothing ranked does)."""
    sources = [(rank[id(a.source)], a.per_day) for a in box.ins if id(a.source) in rank]
    if not sources:
        return default
    return sum(r * w for r, w in sources) / (sum(w for _, w in sources) or 1.0)


def _order(columns: list[list[Box]]) -> None:
    """Order each column after the first by the mean position of what feeds it
    (barycentre), so arrows cross as little as possible."""
    rank: dict[int, float] = {id(b): i for i, b in enumerate(columns[0])}
    for column in columns[1:]:
        last = float(len(column))
        column.sort(key=lambda b: _barycentre(b, rank, last))  # noqa: B023 (sorted here, at once)
        rank.update({id(b): i for i, b in enumerate(column)})


def layout(scenario: Scenario, flows: SystemFlows, summary: dict[str, Any] | None = None
           ) -> tuple[list[Box], list[Arrow], float, float]:
    """Boxes and arrows of the scenario's system placed in inches; the drawing's
    width and height (without title, legend and footer)."""
    reg = registry_of(scenario)
    days = float(scenario.run.duration_days)
    service_column = _service_columns(reg)
    all_boxes = [*_boroughs(reg, flows, summary, days), *_trusts(reg, flows, summary, days),
                 *_services(reg, flows, summary, days, service_column)]  # fmt: skip
    boxes = {b.key: b for b in all_boxes}
    arrows = _arrows(reg, flows, boxes)
    for a in arrows:
        a.source.outs.append(a)
        a.target.ins.append(a)
    n_columns = max(b.column for b in all_boxes) + 1
    columns = [[b for b in all_boxes if b.column == c] for c in range(n_columns)]
    columns = [c for c in columns if c]
    _order(columns)
    x = MARGIN
    for i, column in enumerate(columns):
        width = max(_measure(t, s, b)[0] for box in column for t, s, b, _ in box.lines) + 2 * PAD
        incoming = [_measure(a.label, LABEL_PT, False)[0] for box in column for a in box.ins]
        if i:
            x += CURVE + (max(incoming) + 0.16 if incoming else 0.0)
        for box in column:
            _size(box, width)
            box.x = x
        x += width
    height = max(sum(b.h for b in c) + BOX_GAP * (len(c) - 1) for c in columns)
    for column in columns:
        top = MARGIN + height - (height - sum(b.h for b in column) - BOX_GAP * (len(column) - 1)) / 2
        for box in column:
            box.y = top - box.h
            top = box.y - BOX_GAP
    return all_boxes, arrows, x + MARGIN, height + 2 * MARGIN


def _ports(box: Box, arrows: list[Arrow], other: str) -> dict[int, float]:
    """Height of each arrow's end on ``box``, spread over the box in the order of the
    other ends (top first)."""
    ordered = sorted(arrows, key=lambda a: -getattr(a, other).middle)
    n = len(ordered)
    room = box.h - PAD
    return {id(a): box.y + box.h - PAD / 2 - room * (i + 0.5) / n for i, a in enumerate(ordered)}


def _gaps(column: list[Box]) -> list[float]:
    """Heights (inches) at which a line can cross ``column`` without touching a box."""
    ordered = sorted(column, key=lambda b: -b.y)
    between = [(upper.y + lower.y + lower.h) / 2 for upper, lower in zip(ordered, ordered[1:], strict=False)]
    return [ordered[0].y + ordered[0].h + BOX_GAP / 2, *between, ordered[-1].y - BOX_GAP / 2]


def _route(a: Arrow, y0: float, y1: float, columns: list[list[Box]]) -> CurvePath:
    """The arrow's path: leaves and arrives horizontally, bends in the gaps between
    columns, crosses any column in between through the free gap nearest its way,
    and ends with a straight stretch for its label."""
    x0, x1 = a.source.x + a.source.w, a.target.x
    label_w = _measure(a.label, LABEL_PT, False)[0] + 0.16
    points = [(x0, y0)]
    for column in columns:
        left, right = column[0].x, column[0].x + column[0].w
        if x0 < left and right < x1:  # a column between the two ends
            straight = y0 + (y1 - y0) * ((left + right) / 2 - x0) / (x1 - x0)
            y = min(_gaps(column), key=lambda g: abs(g - straight))
            points += [(left - 0.1, y), (right + 0.1, y)]
    points.append((x1 - label_w, y1))
    vertices, codes = [points[0]], [CurvePath.MOVETO]
    for i, (start, end) in enumerate(zip(points, points[1:], strict=False)):
        if i % 2:  # across a column
            vertices.append(end)
            codes.append(CurvePath.LINETO)
        else:
            dx = max((end[0] - start[0]) * 0.5, 0.1)
            vertices += [(start[0] + dx, start[1]), (end[0] - dx, end[1]), end]
            codes += [CurvePath.CURVE4] * 3
    vertices.append((x1, y1))
    codes.append(CurvePath.LINETO)
    return CurvePath(vertices, codes)


def _draw_arrow(ax: Any, a: Arrow, y0: float, y1: float, width: float, columns: list[list[Box]]) -> None:
    ax.add_patch(FancyArrowPatch(path=_route(a, y0, y1, columns), arrowstyle="-|>", mutation_scale=7 + 2 * width,
                                 color=a.colour, linewidth=width, linestyle=a.line, shrinkA=0, shrinkB=0, zorder=2,
                                 joinstyle="miter", capstyle="butt"))
    ax.text(a.target.x - 0.1, y1, a.label, fontsize=LABEL_PT, ha="right", va="center", zorder=4, parse_math=False,
            bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.92})


def _draw_box(ax: Any, box: Box) -> None:
    ax.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h, boxstyle="round,pad=0,rounding_size=0.06",
                                facecolor=box.face, edgecolor=box.edge, linewidth=box.border, zorder=3))
    y = box.y + box.h - PAD
    for text, size, bold, colour in box.lines:
        step = _measure(text, size, bold)[1] * LINE_GAP
        ax.text(box.x + PAD, y - step / 2, text, fontsize=size, fontweight="bold" if bold else "normal",
                color=colour, ha="left", va="center", zorder=5, parse_math=False)
        y -= step


def _legend(ax: Any, x: float, reg: SystemRegistry, flows: SystemFlows, simulated: bool) -> None:
    """The key to the lines and boxes drawn, centred at ``x`` (inches) below the drawing."""
    used = {k[2] for k in flows.discharges}
    handles: list[Any] = [Line2D([], [], color=ADMISSION_COLOUR, linewidth=2, label="admissions")]
    handles += [Line2D([], [], color=style.PATHWAY_STYLE[p][0], linestyle=PATHWAY_LINE[p], linewidth=2,
                       label=f"discharges on {p}") for p in ("P1", "P2", "P3") if p in used]  # fmt: skip
    if flows.onward:
        handles.append(Line2D([], [], color=ONWARD_COLOUR, linestyle=ONWARD_LINE, linewidth=2,
                              label="on to the next service"))
    settings = {s.spec.setting for s in reg.services}
    handles += [Patch(facecolor=SETTING_FACE[k], edgecolor=style.BLACK, linewidth=OWN_LW, label=f"service {words}")
                for k, words in (("home", "at home"), ("bed", "in a bed")) if k in settings]  # fmt: skip
    if any(s.shared for s in reg.services):
        handles.append(Patch(facecolor="white", edgecolor=style.BLACK, linewidth=SHARED_LW,
                             label="shared by several boroughs"))
    if simulated:
        handles.append(Line2D([], [], color="none", label="blue text: simulated means of the run"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(x, -0.05), bbox_transform=ax.transData,
              ncols=min(len(handles), 5),
              fontsize=8, handlelength=2.6, columnspacing=1.4, frameon=False)


def draw(scenario: Scenario, folder: Path, footer: str, summary: dict[str, Any] | None = None,
         stem: str = STEM) -> dict[str, Path]:
    """Draw the system diagram of ``scenario`` into ``folder/stem.png`` and ``.svg``
    (``summary``: a run's summary.json, for the simulated means); both paths."""
    flows = expected_flows(scenario)
    boxes, arrows, width, height = layout(scenario, flows, summary)
    columns = [[b for b in boxes if b.column == c] for c in sorted({b.column for b in boxes})]
    fig_w = max(width, style.WIDTH_IN)
    fig_h = height + TITLE_IN + LEGEND_IN + style.FOOTER_IN
    biggest = max((a.per_day for a in arrows), default=1.0) or 1.0
    with mpl.rc_context(style.RC):
        fig, ax = style.plain_figure(footer, fig_w, fig_h)
        left = (fig_w - width) / 2
        ax.set_xlim(-left, fig_w - left)
        ax.set_ylim(-(LEGEND_IN + style.FOOTER_IN), height + TITLE_IN)
        ends = {}
        for box in boxes:
            ends.update({("out", k): v for k, v in _ports(box, box.outs, "target").items()})
            ends.update({("in", k): v for k, v in _ports(box, box.ins, "source").items()})
        for a in sorted(arrows, key=lambda a: -a.per_day):
            _draw_arrow(ax, a, ends[("out", id(a))], ends[("in", id(a))], 1.0 + 3.0 * a.per_day / biggest, columns)
        for box in boxes:
            _draw_box(ax, box)
        reg = registry_of(scenario)
        counts = ", ".join(_count(n, word) for n, word in ((len(reg.trusts), "trust"),
                           (len(reg.modelled_boroughs), "borough"), (len(reg.services), "service")))
        ax.text(MARGIN, height + TITLE_IN - 0.12, f"The modelled system: {counts}", fontsize=12,
                fontweight="bold", ha="left", va="top", parse_math=False)  # fmt: skip
        ax.text(MARGIN, height + TITLE_IN - 0.38, "Numbers on arrows: expected people per day from the scenario "
                "(every place found, readmissions included); line width grows with the flow.", fontsize=8.5,
                color=style.GREY, ha="left", va="top")  # fmt: skip
        _legend(ax, width / 2, reg, flows, summary is not None)
        return style.save(fig, folder, stem, text_as_text=True)


def caption(scenario: Scenario, simulated: bool) -> Caption:
    """The diagram's finding (what the system is, its expected flows) and note."""
    reg, flows = registry_of(scenario), expected_flows(scenario)
    admitted = sum(flows.admissions.values())
    discharged = sum(flows.discharges.values())
    (borough, trust), top = max(flows.admissions.items(), key=lambda kv: kv[1])
    counts = ", ".join(_count(n, w) for n, w in ((len(reg.trusts), "trust"), (len(reg.modelled_boroughs), "borough"),
                                                  (len(reg.services), "service")))  # fmt: skip
    finding = (f"The modelled system has {counts}: {_rate(admitted)} admissions a day are expected, "
               f"{_rate(discharged)} of them discharged into a service")
    if len(flows.admissions) > 1:
        finding += f"; the largest flow is {_rate(top)} a day from {borough} to {trust}"
    note = ("Numbers on arrows: expected people per day from the scenario, when every place is found.")
    if simulated:
        note += " Blue text in the boxes: simulated means of this run."
    return Caption(finding + ".", note)


def write_diagram(source: Path, out: Path) -> dict[str, Path]:
    """``d2asim diagram``: draw the system of a scenario file, or of a run folder with
    its simulated means, into ``out/NAME_diagram.png`` and ``.svg``. Raises
    ScenarioError for bad input or when either file already exists."""
    import datetime as dt

    from d2asim.report.data import load_run, run_scenario
    from d2asim.scenario.loader import load_scenario
    from d2asim.version import __version__

    summary: dict[str, Any] | None = None
    if source.is_dir():
        run = load_run(source)
        scenario, summary, footer = run_scenario(run), run.summary, run.footer()
    else:
        scenario = load_scenario(source)
        footer = (f"Scenario {scenario.name} · expected flows from {source.name} · d2asim {__version__} · "
                  f"drawn {dt.date.today().isoformat()}")
    if out.exists() and not out.is_dir():
        raise ScenarioError([f"{out}: --out: not a folder"])
    stem = f"{scenario.name}_diagram"
    for path in (out / f"{stem}.png", out / f"{stem}.svg"):
        if path.exists():
            raise ScenarioError([f"{path}: --out: file exists; choose another folder (files are never overwritten)"])
    return draw(scenario, out, footer, summary, stem)
